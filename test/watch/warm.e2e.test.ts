/**
 * `reconcile --watch` keeps its SSH connections from pass to pass, in its own lab (bridge ygbr102w,
 * 10.102.9.0/24: three control-plane nodes and two workers, real sshd under runit). Connections
 * are counted on the wire: the watch process's established TCP connections to port 22 (`ss -p`,
 * by its pid), and the sshd processes that serve them inside each node's network namespace.
 *   - a no-op pass opens no connection and runs one command per node;
 *   - a connection whose sshd process is killed is opened again by the next pass;
 *   - a node that presents another host key on reconnect is refused, naming both fingerprints;
 *   - a node removed from the inventory has its connection closed.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clusterSpec } from "../../src/cluster/spec.js";
import { loadInventory } from "../../src/inventory/load.js";
import { labContext, labDown, labEnter, labPrerequisites, labUp } from "../../src/lab/index.js";

const ROOT = resolve(import.meta.dirname, "../..");
const ENV = "warm102";
const NODES: [string, string, string][] = [
  ["n1", "10.102.9.11", "control-plane"],
  ["n2", "10.102.9.12", "control-plane"],
  ["n3", "10.102.9.13", "control-plane"],
  ["w1", "10.102.9.14", "worker"],
  ["w2", "10.102.9.15", "worker"],
];
const addressOf = (node: string) => NODES.find(([n]) => n === node)![1];

const missing = labPrerequisites();
const skip = missing.length ? `warm watch e2e skipped: ${missing.join("; ")}` : undefined;
if (skip) console.warn(skip);

const inventory = (nodes: readonly [string, string, string][]) =>
  [
    `cluster: { name: ${ENV}, kubernetesVersion: '1.33.5' }`,
    "lab: { bridge: ygbr102w, cidr: 10.102.9.0/24 }",
    "staticNodes:",
    ...nodes.map(([n, a, r]) => `  - { name: ${n}, address: ${a}, role: ${r} }`),
    "networking: { calico: { routeReflectors: { enabled: false } } }",
    "",
  ].join("\n");

async function until(ms: number, ok: () => boolean | Promise<boolean>): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await ok()) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return ok();
}

/** Established TCP connections to port 22 of the lab, as `ss -p` shows them in `netns` (host: undefined). */
function sshConnections(netns?: string): { local: string; peer: string; pids: number[] }[] {
  const argv = ["ss", "-Htnp", "state", "established"];
  const out = netns
    ? execFileSync("ip", ["netns", "exec", netns, ...argv], { encoding: "utf8" })
    : execFileSync(argv[0]!, argv.slice(1), { encoding: "utf8" });
  return out
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => {
      const f = l.trim().split(/\s+/);
      return { local: f[2]!, peer: f[3]!, pids: [...l.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1])) };
    })
    .filter((c) => c.local.startsWith("10.102.9.") || c.peer.startsWith("10.102.9."));
}

describe.skipIf(skip !== undefined)("reconcile --watch keeps its SSH connections (real sshd in the lab)", () => {
  const root = skip ? "" : mkdtempSync(join(tmpdir(), "yagura-warm-e2e-"));
  const state = join(root, "state");
  const file = join(root, `${ENV}.yaml`);
  const lab = () => labContext(ENV, { stateRoot: state });
  let child: ChildProcess | undefined;
  let out = "";

  beforeAll(async () => {
    writeFileSync(file, inventory(NODES));
    const r = loadInventory(file);
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    await labUp(clusterSpec(r.env, r.inventory), { stateRoot: state });
    child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        join(ROOT, "src/cli/main.ts"),
        ...["reconcile", file, "--watch", "--interval", "2s", "--scope", "etcd"],
      ],
      {
        cwd: ROOT,
        env: { ...process.env, YAGURA_STATE_DIR: state, NODE_NO_WARNINGS: "1" },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  }, 180_000);

  afterAll(async () => {
    if (skip) return;
    if (child && child.exitCode === null && child.signalCode === null) {
      const closed = new Promise((r) => child!.once("close", r));
      child.kill("SIGTERM");
      await Promise.race([closed, new Promise((r) => setTimeout(r, 20_000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
    await labDown(ENV, { stateRoot: state }).catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
  }, 120_000);

  /** The watch's lines for its passes, in order. */
  const passes = () => out.split("\n").filter((l) => /^watch pass \d+: /.test(l));
  /** Waits for `n` more passes after the ones seen so far; returns the new ones. */
  const morePasses = async (n: number, ms = 90_000) => {
    const seen = passes().length;
    expect(await until(ms, () => passes().length >= seen + n), out).toBe(true);
    return passes().slice(seen, seen + n);
  };
  /** The watch process's connection per node (its local address:port), from the host side. */
  const watchConnections = () => {
    const byNode: Record<string, string[]> = {};
    for (const c of sshConnections()) {
      if (!c.pids.includes(child!.pid!) || !c.peer.endsWith(":22")) continue;
      const node = NODES.find(([, a]) => c.peer === `${a}:22`)?.[0];
      if (node) (byNode[node] ??= []).push(c.local);
    }
    return byNode;
  };
  /** The sshd processes inside `node` that serve the watch's connection `local`. */
  const sshdServing = (node: string, local: string) =>
    sshConnections(lab().names.netns(node))
      .filter((c) => c.local === `${addressOf(node)}:22` && c.peer === local)
      .flatMap((c) => c.pids);

  it("a no-op pass reuses one open connection per node and runs one command on each", async () => {
    expect(await until(240_000, () => passes().some((l) => / completed in /.test(l))), out).toBe(true);
    await morePasses(1);
    const before = watchConnections();
    expect(Object.keys(before).sort(), out).toEqual(["n1", "n2", "n3", "w1", "w2"]);
    for (const [node, locals] of Object.entries(before)) {
      expect(locals, node).toHaveLength(1);
      // The node's own view: one sshd connection from the watch, served by its sshd.
      expect(sshdServing(node, locals[0]!).length, node).toBeGreaterThan(0);
    }
    const next = await morePasses(2);
    for (const l of next) expect(l).toMatch(/: completed in \d+ ms, 5 SSH commands, 0 connects — /);
    expect(watchConnections()).toEqual(before);
  }, 360_000);

  it("a connection whose sshd process was killed is opened again by the next pass", async () => {
    const [old] = watchConnections()["n2"]!;
    const pids = sshdServing("n2", old!);
    expect(pids.length, `no sshd serves ${old} on n2`).toBeGreaterThan(0);
    for (const pid of new Set(pids)) process.kill(pid, "SIGKILL");
    expect(await until(10_000, () => !watchConnections()["n2"]), "the killed connection is still open").toBe(true);
    const from = out.length;
    // The next pass connects to n2 again (one connect) and observes every node.
    expect(
      await until(60_000, () => / completed in \d+ ms, 5 SSH commands, 1 connects — /.test(out.slice(from))),
      out.slice(from),
    ).toBe(true);
    const now = watchConnections()["n2"];
    expect(now).toHaveLength(1);
    expect(now![0]).not.toBe(old);
    expect(sshdServing("n2", now![0]!).length).toBeGreaterThan(0);
  }, 180_000);

  it("a node presenting another host key on reconnect is refused, naming both keys", async () => {
    const keyFile = join(root, "other_host_key");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "other", "-f", keyFile]);
    const sh = (script: string, input?: string) =>
      labEnter(ENV, "w1", ["sh", "-c", script], { stateRoot: state, ...(input ? { input } : {}) });
    const original = (await sh("cat /etc/ssh/ssh_host_ed25519_key")).stdout;
    const originalPub = (await sh("cat /etc/ssh/ssh_host_ed25519_key.pub")).stdout;
    const swap = async (priv: string, pub: string) => {
      expect((await sh("cat > /etc/ssh/ssh_host_ed25519_key", priv)).code).toBe(0);
      expect((await sh("cat > /etc/ssh/ssh_host_ed25519_key.pub", pub)).code).toBe(0);
      // A restarted listener serves the key now on disk; the watch's connection is cut next.
      expect((await sh("sv restart /etc/service/sshd")).code).toBe(0);
    };
    await swap(readFileSync(keyFile, "utf8"), readFileSync(`${keyFile}.pub`, "utf8"));
    const [old] = watchConnections()["w1"]!;
    for (const pid of new Set(sshdServing("w1", old!))) process.kill(pid, "SIGKILL");
    const from = out.length;
    const refused = () =>
      /^refused: w1 presented a host key yagura neither issued nor pinned; nothing is done on it: host key mismatch: w1 \(root@10\.102\.9\.14:22\): host key changed: expected SHA256:\S+, the server presents SHA256:\S+\./m.test(
        out.slice(from),
      );
    expect(await until(90_000, refused), out.slice(from)).toBe(true);
    expect(watchConnections()["w1"]).toBeUndefined();
    // The key yagura issued comes back: the next pass connects, checks it and goes on.
    await swap(original, originalPub);
    const back = out.length;
    expect(
      await until(90_000, () => / completed in \d+ ms, 5 SSH commands, 1 connects — /.test(out.slice(back))),
      out.slice(back),
    ).toBe(true);
    expect(watchConnections()["w1"]).toHaveLength(1);
  }, 240_000);

  it("a node removed from the inventory has its connection closed", async () => {
    const [old] = watchConnections()["w2"]!;
    expect(sshdServing("w2", old!).length).toBeGreaterThan(0);
    const from = out.length;
    writeFileSync(file, inventory(NODES.filter(([n]) => n !== "w2")));
    expect(await until(60_000, () => /inventory changed: reloaded/.test(out.slice(from))), out.slice(from)).toBe(true);
    expect(
      await until(60_000, () => / completed in \d+ ms, 4 SSH commands, 0 connects — /.test(out.slice(from))),
      out.slice(from),
    ).toBe(true);
    expect(watchConnections()["w2"]).toBeUndefined();
    // And on the node: no sshd serves the watch any more.
    expect(await until(10_000, () => sshdServing("w2", old!).length === 0)).toBe(true);
    expect(Object.keys(watchConnections()).sort()).toEqual(["n1", "n2", "n3", "w1"]);
  }, 180_000);
});
