/**
 * Drift repaired by `reconcile --watch` without a human, in its own lab (bridge ygbr85d,
 * 10.85.0.0/24, three control-plane nodes): a stopped etcd, an edited run script, a deleted server
 * certificate, and a wiped member. For each, the test shows the op that repaired it in the CLI's
 * `yagura history` and in the watch's /metrics (`yagura_ops_total{op=…}`).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { envPaths } from "../../src/cluster/paths.js";
import { readRecords } from "../../src/run/records.js";
import { cli, e2eSkipReason, etcdctl, onNode, useLab, until } from "../e2e/helpers.js";
import { freePort } from "../infra/etcd-server.js";

const base = e2eSkipReason();
const skip = base ? `watch drift e2e skipped: ${base}` : undefined;
if (skip) console.warn(skip);

const ROOT = resolve(import.meta.dirname, "../..");
const ENV = "d85";
const NODES: [string, string][] = [
  ["node1", "10.85.0.11"],
  ["node2", "10.85.0.12"],
  ["node3", "10.85.0.13"],
];
const ALL = NODES.map(([, a]) => `https://${a}:2379`);

describe.skipIf(skip !== undefined)("drift repaired by reconcile --watch (real sshd, runit, etcd)", () => {
  let child: ChildProcess | undefined;
  const { state, file } = useLab({
    inventory: { env: ENV, bridge: "ygbr85d", cidr: "10.85.0.0/24", nodes: NODES },
    tmpPrefix: "drift",
    skip,
    beforeDown: () => {
      if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
  });
  let out = "";
  let port = 0;
  const node = (address: string, command: string) => onNode(state, ENV, address, command);
  const records = () => readRecords(envPaths(ENV, state).records);
  const healthy = () => etcdctl(state, ENV, ALL, ["endpoint", "health"]).code === 0;
  /** Ops that succeeded since `t`, in order. */
  const succeededSince = (t: number) =>
    records()
      .filter((r) => r.status === "succeeded" && Date.parse(r.startedAt) >= t - 1000)
      .map((r) => r.op);
  const metric = async (op: string) => {
    const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const m = new RegExp(`^yagura_ops_total\\{env="${ENV}",op="${op}"\\} (\\d+)$`, "m").exec(body);
    return Number(m?.[1] ?? 0);
  };
  /** The succeeded ops `yagura history ENV` prints for records started at or after `t`. */
  const historyOps = async (t: number) => {
    const h = await cli(state, ["history", file, "--limit", "200"]);
    expect(h.code, h.out).toBe(0);
    return [...h.out.matchAll(/^(\S+) succeeded +(\S+) \[/gm)]
      .filter((m) => Date.parse(m[1]!) >= t - 1000)
      .map((m) => m[2]!);
  };

  /** Injects drift, waits for the watch to run `ops` and etcd to be healthy, checks history and metrics. */
  async function repaired(what: string, inject: () => Promise<unknown>, ops: string[]) {
    const before = Object.fromEntries(await Promise.all(ops.map(async (o) => [o, await metric(o)] as const)));
    const t = Date.now();
    await inject();
    const done = () => ops.every((o) => succeededSince(t).includes(o)) && healthy();
    expect(await until(120_000, done), `${what}: ${succeededSince(t).join(",")}\n${out.slice(-3000)}`).toBe(true);
    console.log(`watch drift e2e: ${what} → ${ops.join(", ")} in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    const hist = await historyOps(t);
    for (const o of ops) expect(hist, `${what}: history`).toContain(o);
    for (const o of ops) expect(await metric(o), `${what}: yagura_ops_total{op="${o}"}`).toBeGreaterThan(before[o]!);
  }

  it("repairs a stopped etcd, an edited run script, a deleted certificate and a wiped member", async () => {
    port = await freePort();
    const args = ["reconcile", file, "--watch", "--interval", "5s", "--scope", "etcd"];
    child = spawn(
      process.execPath,
      ["--import", "tsx", join(ROOT, "src/cli/main.ts"), ...args, "--metrics-addr", `127.0.0.1:${port}`],
      {
        cwd: ROOT,
        env: { ...process.env, YAGURA_STATE_DIR: state, NODE_NO_WARNINGS: "1" },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
    expect(await until(120_000, () => /watch pass \d+: completed/.test(out)), out).toBe(true);

    await repaired("a stopped etcd on node2", () => node("10.85.0.12", "sv -w 10 down /etc/service/etcd"), [
      "etcd-start",
    ]);

    await repaired(
      "an edited etcd run script on node3",
      () => node("10.85.0.13", "echo '# drift-marker-85' >> /etc/yagura/sv/etcd/run"),
      ["etcd-files", "etcd-restart"],
    );
    expect((await node("10.85.0.13", "grep -c drift-marker-85 /etc/yagura/sv/etcd/run || true")).stdout.trim()).toBe(
      "0",
    );

    await repaired(
      "a deleted etcd server certificate on node1",
      () => node("10.85.0.11", "rm /etc/kubernetes/pki/etcd/server.crt"),
      ["etcd-certs"],
    );
    expect((await node("10.85.0.11", "test -s /etc/kubernetes/pki/etcd/server.crt && echo ok")).stdout.trim()).toBe(
      "ok",
    );

    const put = etcdctl(state, ENV, ALL, ["put", "before-wipe-85", "kept"]);
    expect(put.code, put.out).toBe(0);
    await repaired(
      "a wiped etcd member on node2",
      // The data goes first (one rename), so no pass can see "stopped, data present" and start the
      // member between the stop and the wipe; the watch runs while the test injects.
      () =>
        node(
          "10.85.0.12",
          "mv /var/lib/etcd/member /var/lib/etcd/wiped-85 && sv -w 10 down /etc/service/etcd && rm -rf /var/lib/etcd/wiped-85",
        ),
      ["etcd-remove-member", "etcd-add-member", "etcd-promote"],
    );
    const got = etcdctl(state, ENV, [ALL[1]!], ["get", "before-wipe-85", "--print-value-only", "--consistency=s"]);
    expect(got.out.trim(), got.out).toBe("kept");
    const list = etcdctl(state, ENV, [ALL[0]!], ["member", "list"]);
    expect(list.out.match(/started, node/g), list.out).toHaveLength(3);

    child.kill("SIGTERM");
    expect(await until(30_000, () => child!.exitCode !== null), out).toBe(true);
    expect(child.exitCode, out).toBe(0);
  }, 600_000);
});
