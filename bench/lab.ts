/**
 * Lab benchmark: time and memory to bring up and tear down 3, 10 and 30 nodes, and time until every
 * node answers a real ssh login. Prints figures; asserts nothing. Needs root.
 * Run: npx tsx bench/lab.ts [sizes…]   (default 3 10 30)
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseInventory } from "../src/inventory/load.js";
import { clusterSpec } from "../src/cluster/spec.js";
import { envPaths } from "../src/cluster/paths.js";
import { labDown, labPrerequisites, labUp, readState, sshExec, labContext } from "../src/lab/index.js";
import { cgroupPids } from "../src/lab/cgroup.js";
import { mapLimit, tryRun } from "../src/lab/exec.js";
import { sshOptions } from "../src/lab/ssh.js";

const sizes = process.argv
  .slice(2)
  .map(Number)
  .filter((n) => n > 0 && n <= 200);
const SIZES = sizes.length ? sizes : [3, 10, 30];

function memAvailableKiB(): number {
  return Number(/MemAvailable:\s+(\d+)/.exec(readFileSync("/proc/meminfo", "utf8"))![1]);
}

function pssKiB(pid: number): number {
  try {
    return Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const mb = (kib: number) => `${(kib / 1024).toFixed(1)} MB`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function inventory(n: number, subnet: number): string {
  const nodes = Array.from(
    { length: n },
    (_, i) =>
      `  - { name: n${i + 1}, address: 10.78.${subnet}.${11 + i}, role: ${i < 3 ? "control-plane" : "worker"} }`,
  );
  return [
    "cluster: { name: bench, kubernetesVersion: '1.33.5' }",
    `lab: { bridge: ygt${subnet}bench, cidr: 10.78.${subnet}.0/24 }`,
    "staticNodes:",
    ...nodes,
    "networking: { calico: { routeReflectors: { enabled: false } } }",
    "",
  ].join("\n");
}

async function one(n: number, subnet: number, root: string): Promise<string[]> {
  const env = `bench${n}`;
  const r = parseInventory(inventory(n, subnet), `${env}.yaml`);
  if (!r.ok) throw new Error(r.problems.map((p) => p.message).join("\n"));
  const spec = clusterSpec(r.env, r.inventory);
  const paths = envPaths(env, root);
  // Timed as a user sees it: includes the operator key and the gcc build of the pause image.

  const mem0 = memAvailableKiB();
  const t0 = performance.now();
  const up = await labUp(spec, { stateRoot: root, waitForSsh: false, concurrency: 4 });
  const tUp = performance.now() - t0;
  // Every node completes a real login (pinned host key) and runs a command; 8 at a time.
  const pending = new Set(up.nodes.map((x) => x.address));
  while (pending.size > 0) {
    await mapLimit([...pending], 8, async (a) => {
      if ((await sshExec(paths.sshKey, paths.knownHosts, a, "true", { timeoutMs: 10_000 })).code === 0)
        pending.delete(a);
    });
  }
  const tSsh = performance.now() - t0;
  await sleep(1000);
  const mem1 = memAvailableKiB();
  const state = readState(labContext(env, { stateRoot: root }).labDir)!;
  const pids = new Set(Object.values(state.nodes).flatMap((x) => cgroupPids(x.cgroups[0]!)));
  const pss = [...pids].reduce((s, p) => s + pssKiB(p), 0);
  // What the kernel charges the lab's memory cgroup: processes plus kernel memory and page cache.
  const memGroup = state.cgroupGroups.find((d) => d.includes("/memory/"));
  const charged = memGroup ? Number(readFileSync(join(memGroup, "memory.usage_in_bytes"), "utf8")) / 1024 : NaN;

  // Connection cost: 10 sequential logins to one node, with and without the lab's key exchange.
  const addr = up.nodes[0]!.address;
  const timed = async (opts: string[]) => {
    const s = performance.now();
    for (let i = 0; i < 10; i++) await tryRun(["ssh", ...opts, `root@${addr}`, "true"]);
    return (performance.now() - s) / 10;
  };
  const fast = await timed(sshOptions(paths.sshKey, paths.knownHosts));
  const opts = sshOptions(paths.sshKey, paths.knownHosts);
  const k = opts.findIndex((o) => o.startsWith("KexAlgorithms="));
  const slow = await timed([...opts.slice(0, k - 1), ...opts.slice(k + 1)]);

  const t1 = performance.now();
  await labDown(env, { stateRoot: root });
  const tDown = performance.now() - t1;
  return [
    String(n),
    secs(tUp),
    secs(tSsh),
    secs(tDown),
    mb(mem0 - mem1),
    mb(pss),
    mb(pss / n),
    mb(charged),
    `${fast.toFixed(0)} / ${slow.toFixed(0)} ms`,
  ];
}

async function main(): Promise<void> {
  const why = labPrerequisites();
  if (why.length) {
    console.log(`lab bench skipped: ${why.join("; ")}`);
    return;
  }
  const root = mkdtempSync(join(tmpdir(), "yagura-lab-bench-"));
  const head = [
    "nodes",
    "up",
    "all answer ssh",
    "down",
    "MemAvailable drop",
    "PSS (node procs)",
    "PSS/node",
    "memory cgroup charge",
    "ssh login curve25519 / default kex",
  ];
  const rows: string[][] = [];
  try {
    for (const [i, n] of SIZES.entries()) {
      process.stderr.write(`bench: ${n} nodes…\n`);
      rows.push(await one(n, 5 + (i % 5), root));
    }
  } finally {
    for (const n of SIZES) await labDown(`bench${n}`, { stateRoot: root }).catch(() => {});
    rmSync(root, { recursive: true, force: true });
  }
  console.log(`| ${head.join(" | ")} |\n|${head.map(() => "---").join("|")}|`);
  for (const r of rows) console.log(`| ${r.join(" | ")} |`);
}

await main();
