/**
 * `reconcile --watch` end to end in its own lab (bridge ygbr81w, 10.81.0.0/24): the watch brings
 * up a 3-member etcd, repairs a stopped member on its own, exposes the repair in /metrics, and
 * stops cleanly on SIGTERM, releasing the lock.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { envPaths } from "../../src/cluster/paths.js";
import { labExec } from "../../src/lab/index.js";
import { readRecords } from "../../src/run/records.js";
import { e2eSkipReason, etcdctl, labInventoryText, useLab, until } from "../e2e/helpers.js";
import { freePort } from "../infra/etcd-server.js";

const base = e2eSkipReason();
const skip = base ? `watch e2e skipped: ${base}` : undefined;
if (skip) console.warn(skip);

const ROOT = resolve(import.meta.dirname, "../..");
const ENV = "w81";
const NODES: [string, string][] = [
  ["node1", "10.81.0.11"],
  ["node2", "10.81.0.12"],
  ["node3", "10.81.0.13"],
];
const LAB = { env: ENV, bridge: "ygbr81w", cidr: "10.81.0.0/24", nodes: NODES };
const INVENTORY = labInventoryText(LAB);

const timeout = (ms: number) => new Promise<string>((r) => setTimeout(() => r("timeout"), ms));

describe.skipIf(skip !== undefined)("reconcile --watch in the lab (real sshd, runit, etcd)", () => {
  let child: ChildProcess | undefined;
  const { state, file } = useLab({
    inventory: LAB,
    tmpPrefix: "watch",
    skip,
    beforeDown: () => {
      if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
  });
  let out = "";
  /** Starts `reconcile --watch` as a child; resolves with its exit code. */
  const startWatch = (port: number) => {
    out = "";
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
    return new Promise<number | null>((res) => child!.on("close", (code) => res(code)));
  };
  const lockHeld = () => (JSON.parse(readFileSync(envPaths(ENV, state).lock, "utf8")) as { held: boolean }).held;

  it("brings etcd up, repairs a stopped member by itself, reports it, and stops on SIGTERM", async () => {
    const port = await freePort();
    const exited = startWatch(port);
    expect(await until(90_000, () => /watch pass \d+: completed/.test(out)), out).toBe(true);

    const down = await labExec(ENV, "node2", "sv -w 10 down /etc/service/etcd", { stateRoot: state });
    expect(down.code, down.stderr).toBe(0);
    const stoppedAt = Date.now();
    const records = envPaths(ENV, state).records;
    const repaired = () =>
      readRecords(records).some(
        (r) => r.op === "etcd-start" && r.status === "succeeded" && Date.parse(r.startedAt) >= stoppedAt - 1000,
      ) && etcdctl(state, ENV, ["https://10.81.0.12:2379"], ["endpoint", "health"]).code === 0;
    expect(await until(45_000, repaired), out).toBe(true);
    console.log(
      `watch e2e: etcd on node2 stopped → repaired by the watch in ${((Date.now() - stoppedAt) / 1000).toFixed(1)} s`,
    );

    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const started = /^yagura_ops_total\{env="w81",op="etcd-start"\} (\d+)$/m.exec(metrics);
    expect(Number(started?.[1] ?? 0), metrics).toBeGreaterThanOrEqual(1);
    expect(metrics).toMatch(/^yagura_etcd_members\{env="w81"\} 3$/m);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);

    // An invalid edit is reported and ignored; putting the file back reloads it and passes at once.
    writeFileSync(file, INVENTORY.replace("name: w81", "name: W_81"));
    expect(
      await until(15_000, () => /inventory changed but is invalid; keeping the previous spec/.test(out)),
      out,
    ).toBe(true);
    writeFileSync(file, INVENTORY);
    expect(await until(15_000, () => /inventory changed: reloaded, passing now/.test(out)), out).toBe(true);

    child!.kill("SIGTERM");
    expect(await Promise.race([exited, timeout(30_000)]), out).toBe(0);
    expect(out).toMatch(/watch stopped by SIGTERM/);
    expect(lockHeld()).toBe(false);
  }, 180_000);

  it("a second SIGTERM exits at once (143), releases the lock, and cancels the op in hand if any", async () => {
    const exited = startWatch(await freePort());
    expect(await until(60_000, () => /watch pass \d+: completed/.test(out)), out).toBe(true);
    const down = await labExec(ENV, "node3", "sv -w 10 down /etc/service/etcd", { stateRoot: state });
    expect(down.code, down.stderr).toBe(0);
    expect(await until(30_000, () => /… etcd-start on/.test(out)), out).toBe(true);
    child!.kill("SIGTERM");
    // Two signals sent back to back coalesce into one pending signal; send the second once the first was seen.
    expect(await until(10_000, () => /SIGTERM: stopping after the op in hand/.test(out)), out).toBe(true);
    child!.kill("SIGTERM");
    expect(await Promise.race([exited, timeout(30_000)]), out).toBe(143);
    expect(out).toMatch(/SIGTERM again: exiting now/);
    expect(lockHeld()).toBe(false);
    // etcd-start may finish before the signals land; if it did not, its record says why it ended.
    const last = readRecords(envPaths(ENV, state).records)
      .filter((r) => r.op === "etcd-start")
      .at(-1)!;
    console.log(`watch e2e: second SIGTERM → exit 143; etcd-start in hand ended ${last.status}`);
    expect(["succeeded", "cancelled"]).toContain(last.status);
    if (last.status === "cancelled") expect(last.error).toMatch(/SIGTERM twice/);
  }, 120_000);
});
