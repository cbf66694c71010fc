/**
 * Lab benchmark: time and memory to bring up and tear down N nodes, time until `lab up` has seen
 * every sshd answer (its own readiness wait), and what that wait costs the machine: the peak load
 * average, runnable tasks and sshd processes in the lab while the nodes boot and while `lab up`
 * waits for their sshd. Then every node completes a real login. Prints figures; asserts nothing
 * (the machine is shared). Needs root.
 * Run: npx tsx bench/lab.ts [sizes…]   (default 3 10 30; e.g. 30 100 250)
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseInventory } from "../src/inventory/load.js";
import { clusterSpec } from "../src/cluster/spec.js";
import { envPaths } from "../src/cluster/paths.js";
import { labDown, labPrerequisites, labUp, readState, sshExec, labContext } from "../src/lab/index.js";
import { cgroupPids, ownCgroupDirs } from "../src/lab/cgroup.js";
import { mapLimit, tryRun } from "../src/lab/exec.js";
import { comm } from "../src/lab/procs.js";
import { sshOptions } from "../src/lab/ssh.js";

const sizes = process.argv
  .slice(2)
  .map(Number)
  .filter((n) => Number.isInteger(n) && n > 0 && n <= 1000);
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

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const mb = (kib: number) => `${(kib / 1024).toFixed(1)} MB`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Node i of a lab on 10.<net>.0.0/16: 200 nodes per /24, from .11 up. */
const address = (net: number, i: number) => `10.${net}.${1 + Math.floor(i / 200)}.${11 + (i % 200)}`;

function inventory(n: number, net: number): string {
  const nodes = Array.from(
    { length: n },
    (_, i) => `  - { name: n${i + 1}, address: ${address(net, i)}, role: ${i < 3 ? "control-plane" : "worker"} }`,
  );
  return [
    "cluster: { name: bench, kubernetesVersion: '1.33.5' }",
    `lab: { bridge: ygbr${net}lab, cidr: 10.${net}.0.0/16 }`,
    "staticNodes:",
    ...nodes,
    "networking: { calico: { routeReflectors: { enabled: false } } }",
    "",
  ].join("\n");
}

/** Peaks seen in one phase of `lab up`. */
interface Peaks {
  load1: number;
  runnable: number;
  sshd: number;
}

/**
 * Samples the machine while `lab up` runs, per phase (boot: until every PID 1 runs; wait: the sshd
 * readiness wait): the 1-minute load average (which lags), the runnable tasks (the load's instant
 * value) and the sshd processes in the lab's cgroup (listeners plus the children each connection
 * forks).
 */
function sampler(group: string) {
  const peaks = { boot: { load1: 0, runnable: 0, sshd: 0 }, wait: { load1: 0, runnable: 0, sshd: 0 } };
  let phase: Peaks = peaks.boot;
  const dir = ownCgroupDirs().find((d) => d.includes("/pids/")) ?? ownCgroupDirs()[0]!;
  const timer = setInterval(() => {
    const [l1, , , run] = readFileSync("/proc/loadavg", "utf8").split(" ");
    phase.load1 = Math.max(phase.load1, Number(l1));
    phase.runnable = Math.max(phase.runnable, Number(run!.split("/")[0]));
    let sshd = 0;
    try {
      for (const p of cgroupPids(join(dir, group))) if (comm(p) === "sshd") sshd++;
    } catch {
      // a node's cgroup dir went away between the listing and the read; the next sample counts
    }
    phase.sshd = Math.max(phase.sshd, sshd);
  }, 200);
  return {
    peaks,
    waiting: () => (phase = peaks.wait),
    stop: () => clearInterval(timer),
  };
}

const peakCells = (p: { boot: Peaks; wait: Peaks }) => [
  `${p.boot.load1.toFixed(0)} / ${p.wait.load1.toFixed(0)}`,
  `${p.boot.runnable} / ${p.wait.runnable}`,
  `${p.boot.sshd} / ${p.wait.sshd}`,
];

async function one(n: number, net: number, root: string): Promise<string[]> {
  const env = `bench${n}`;
  const r = parseInventory(inventory(n, net), `${env}.yaml`);
  if (!r.ok) throw new Error(r.problems.map((p) => p.message).join("\n"));
  const spec = clusterSpec(r.env, r.inventory);
  const paths = envPaths(env, root);
  const ctx = labContext(env, { stateRoot: root });

  const mem0 = memAvailableKiB();
  const s = sampler(ctx.names.cgroupGroup);
  const t0 = performance.now();
  let tBooted = 0;
  let booted = 0;
  // Timed as a user sees it: includes the operator key, the gcc build of the pause image and the
  // wait until every sshd has sent its banner.
  let up;
  try {
    up = await labUp(spec, {
      stateRoot: root,
      concurrency: 4,
      onProgress: (l) => {
        if (/ (started|restarted) \(pid/.test(l) && ++booted === n) {
          tBooted = performance.now() - t0;
          s.waiting();
        }
      },
    });
  } catch (err) {
    const msg = (err as Error).message.split("\n")[0]!;
    process.stderr.write(`bench: lab up of ${n} nodes failed: ${(err as Error).message}\n`);
    const t = secs(performance.now() - t0);
    return [
      String(n),
      secs(tBooted),
      `FAILED after ${t}: ${msg.slice(0, 160)}`,
      ...peakCells(s.peaks),
      "-",
      "-",
      "-",
      "-",
      "-",
    ];
  } finally {
    s.stop();
  }
  const tUp = performance.now() - t0;
  // Every node completes a real login (pinned host key) and runs a command; 8 at a time.
  const t1 = performance.now();
  const pending = new Set(up.nodes.map((x) => x.address));
  while (pending.size > 0) {
    await mapLimit([...pending], 8, async (a) => {
      if ((await sshExec(paths.sshKey, paths.knownHosts, a, "true", { timeoutMs: 10_000 })).code === 0)
        pending.delete(a);
    });
  }
  const tLogin = performance.now() - t1;
  await sleep(1000);
  const mem1 = memAvailableKiB();
  const state = readState(ctx.labDir)!;
  const pids = new Set(Object.values(state.nodes).flatMap((x) => cgroupPids(x.cgroups[0]!)));
  const pss = [...pids].reduce((a, p) => a + pssKiB(p), 0);

  // Connection cost: 10 sequential logins to one node, with and without the lab's key exchange.
  const addr = up.nodes[0]!.address;
  const timed = async (opts: string[]) => {
    const st = performance.now();
    for (let i = 0; i < 10; i++) await tryRun(["ssh", ...opts, `root@${addr}`, "true"]);
    return (performance.now() - st) / 10;
  };
  const fast = await timed(sshOptions(paths.sshKey, paths.knownHosts));
  const opts = sshOptions(paths.sshKey, paths.knownHosts);
  const k = opts.findIndex((o) => o.startsWith("KexAlgorithms="));
  const slow = await timed([...opts.slice(0, k - 1), ...opts.slice(k + 1)]);

  const t2 = performance.now();
  await labDown(env, { stateRoot: root });
  const tDown = performance.now() - t2;
  return [
    String(n),
    secs(tBooted),
    secs(tUp),
    ...peakCells(s.peaks),
    secs(tLogin),
    secs(tDown),
    mb(mem0 - mem1),
    mb(pss / n),
    `${fast.toFixed(0)} / ${slow.toFixed(0)} ms`,
  ];
}

function leftoverSshd(): number {
  return readdirSync("/proc").filter((p) => /^\d+$/.test(p) && comm(Number(p)) === "sshd").length;
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
    "every PID 1 up",
    "lab up (every sshd answers)",
    "peak load1 boot / sshd wait",
    "peak runnable boot / wait",
    "peak sshd procs boot / wait",
    "all log in (8 at once)",
    "down",
    "MemAvailable drop",
    "PSS/node",
    "ssh login curve25519 / default kex",
  ];
  const rows: string[][] = [];
  const load0 = readFileSync("/proc/loadavg", "utf8").split(" ")[0];
  try {
    for (const [i, n] of SIZES.entries()) {
      process.stderr.write(`bench: ${n} nodes… (sshd processes on the machine: ${leftoverSshd()})\n`);
      rows.push(await one(n, 92 + (i % 4), root));
    }
  } finally {
    for (const n of SIZES) await labDown(`bench${n}`, { stateRoot: root }).catch(() => {});
    rmSync(root, { recursive: true, force: true });
  }
  console.log(`load average before: ${load0} (the machine is shared: load and runnable count every process on it)`);
  console.log(`| ${head.join(" | ")} |\n|${head.map(() => "---").join("|")}|`);
  for (const r of rows) console.log(`| ${r.join(" | ")} |`);
}

await main();
