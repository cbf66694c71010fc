/**
 * The no-op sweep at scale (#15): labs of 30, 100 and 250 nodes (3 control-plane, the rest workers;
 * nets 102, 103, 104 on bridges ygbr102s…, 10.<net>.0.0/22), etcd converged first by one
 * `reconcile --scope etcd` (setup, not measured), then, with `bin/yagura.mjs` as it is built:
 *   - cold: a one-shot `yagura reconcile ENV --scope etcd` that finds nothing to do, median of 3,
 *     with its peak RSS (GNU time's maximum resident set);
 *   - warm: `yagura reconcile ENV --scope etcd --watch` — each pass's time, SSH commands and new
 *     connections as the watch logs them (`watch pass N: completed in … ms, … SSH commands, …
 *     connects`), the first pass (which connects) left out, the watch's peak RSS (VmHWM), and
 *     the CPU a warm pass costs the machine, yagura and the idle lab (/proc/stat, /proc/PID/stat;
 *     the idle lab is measured for 5 s first).
 * The 250-node lab runs only when the 1-minute load average is below 4, and once. Labs are torn
 * down at the end, also on failure or Ctrl-C. Prints figures; asserts nothing (the machine is shared).
 * Needs root and the lab packages.
 * Run: npx tsx bench/sweep.ts [--sizes 30,100,250] [--passes 6] [--profile DIR]
 *   --profile DIR writes V8 CPU profiles (node --cpu-prof) to DIR: the watch's, and the last cold
 *   run's in DIR/cold-N.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { clusterSpec } from "../src/cluster/spec.js";
import { loadInventory } from "../src/inventory/load.js";
import { labDown, labPrerequisites, labUp } from "../src/lab/index.js";

const ROOT = resolve(import.meta.dirname, "..");
const CLI = join(ROOT, "bin/yagura.mjs");
const NETS: Record<number, number> = { 30: 102, 100: 103, 250: 104 };
const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const SIZES = (arg("--sizes") ?? "30,100,250").split(",").map(Number);
const PASSES = Number(arg("--passes") ?? 6);
const PROFILE = arg("--profile");
for (const n of SIZES)
  if (!NETS[n]) throw new Error(`--sizes: ${n} is not one of ${Object.keys(NETS).join(", ")} (each has its own net)`);

/** Node i of a lab on 10.<net>.0.0/22: 200 nodes per /24, from 10.<net>.1.11 up. */
const address = (net: number, i: number) => `10.${net}.${1 + Math.floor(i / 200)}.${11 + (i % 200)}`;

function inventory(env: string, n: number, net: number): string {
  return [
    `cluster: { name: ${env}, kubernetesVersion: '1.33.5' }`,
    `lab: { bridge: ygbr${net}s, cidr: 10.${net}.0.0/22 }`,
    "staticNodes:",
    ...Array.from(
      { length: n },
      (_, i) => `  - { name: n${i + 1}, address: ${address(net, i)}, role: ${i < 3 ? "control-plane" : "worker"} }`,
    ),
    "networking: { calico: { routeReflectors: { enabled: false } } }",
    "",
  ].join("\n");
}

const load1 = () => Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]);
/** CPU seconds the whole machine has been busy (user, nice, system, irq, softirq, steal). */
const machineCpu = () => {
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  return (f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!) / 100;
};
/** CPU seconds process `pid` has used (utime + stime). */
const processCpu = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(f[11]) + Number(f[12])) / 100;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] ?? NaN;
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const mb = (kib: number) => `${(kib / 1024).toFixed(0)} MB`;

/** Runs the CLI to its end under GNU time: wall time, peak RSS (KiB), exit code, output. */
function oneShot(
  state: string,
  args: string[],
  nodeArgs: readonly string[] = [],
): Promise<{ ms: number; rssKiB: number; code: number; out: string }> {
  return new Promise((res) => {
    const child = spawn("/usr/bin/time", ["-f", "@@time %e %M", process.execPath, ...nodeArgs, CLI, ...args], {
      cwd: ROOT,
      env: { ...process.env, YAGURA_STATE_DIR: state },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    child.on("close", (code) => {
      const m = /@@time ([\d.]+) (\d+)/.exec(out);
      res({ ms: Number(m?.[1] ?? NaN) * 1000, rssKiB: Number(m?.[2] ?? NaN), code: code ?? -1, out });
    });
  });
}

interface WatchPass {
  outcome: string;
  ms: number;
  commands: number;
  connects: number;
}

/** Runs `reconcile --watch` until `passes` passes after the first; their figures and the watch's VmHWM. */
interface WatchCpu {
  /** CPU seconds per warm pass, interval included: the machine's, yagura's, and the idle lab's. */
  readonly machine: number;
  readonly yagura: number;
  readonly idle: number;
}

async function watch(
  state: string,
  file: string,
  passes: number,
): Promise<{ passes: WatchPass[]; hwmKiB: number; cpu: WatchCpu }> {
  // What the lab costs with nothing asking it anything, to tell the passes' own cost from it.
  const i0 = { m: machineCpu(), t: Date.now() };
  await new Promise((r) => setTimeout(r, 5000));
  const idleRate = (machineCpu() - i0.m) / ((Date.now() - i0.t) / 1000);
  const node = PROFILE ? [`--cpu-prof`, `--cpu-prof-dir=${resolve(PROFILE)}`] : [];
  const child = spawn(
    process.execPath,
    [...node, CLI, "reconcile", file, "--scope", "etcd", "--watch", "--interval", "2s"],
    { cwd: ROOT, env: { ...process.env, YAGURA_STATE_DIR: state }, stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  const closed = new Promise((r) => child.once("close", r));
  const seen = () =>
    [...out.matchAll(/^watch pass \d+: (\w+) in (\d+) ms, (\d+) SSH commands, (\d+) connects/gm)].map((m) => ({
      outcome: m[1]!,
      ms: Number(m[2]),
      commands: Number(m[3]),
      connects: Number(m[4]),
    }));
  let from: { m: number; y: number; t: number } | undefined;
  try {
    const end = Date.now() + 600_000;
    while (seen().length < passes + 1) {
      if (!from && seen().length >= 1) from = { m: machineCpu(), y: processCpu(child.pid!), t: Date.now() };
      if (child.exitCode !== null) throw new Error(`the watch exited ${child.exitCode}:\n${out.slice(-3000)}`);
      if (Date.now() > end) throw new Error(`the watch made ${seen().length} passes in 10 min:\n${out.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    const hwm = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))?.[1] ?? NaN);
    const warm = seen().length - 1;
    const cpu = {
      machine: (machineCpu() - from!.m) / warm,
      yagura: (processCpu(child.pid!) - from!.y) / warm,
      idle: (idleRate * (Date.now() - from!.t)) / 1000 / warm,
    };
    return { passes: seen().slice(1, passes + 1), hwmKiB: hwm, cpu };
  } finally {
    child.kill("SIGTERM");
    await Promise.race([closed, new Promise((r) => setTimeout(r, 30_000))]);
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
}

async function one(n: number, root: string): Promise<string[]> {
  const net = NETS[n]!;
  const env = `sweep${n}`;
  const state = join(root, env);
  const file = join(root, `${env}.yaml`);
  writeFileSync(file, inventory(env, n, net));
  const r = loadInventory(file);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  try {
    process.stderr.write(`sweep: ${n} nodes: lab up…\n`);
    await labUp(clusterSpec(r.env, r.inventory), { stateRoot: state, concurrency: 4 });
    process.stderr.write(`sweep: ${n} nodes: converging etcd (setup)…\n`);
    const setup = await oneShot(state, ["reconcile", file, "--scope", "etcd"]);
    if (setup.code !== 0) throw new Error(`setup reconcile exited ${setup.code}:\n${setup.out.slice(-3000)}`);
    const cold = [];
    for (let i = 0; i < 3; i++) {
      const prof = PROFILE && i === 2 ? [`--cpu-prof`, `--cpu-prof-dir=${resolve(PROFILE, `cold-${n}`)}`] : [];
      const c = await oneShot(state, ["reconcile", file, "--scope", "etcd"], prof);
      if (c.code !== 0 || !/completed after 1 pass\(es\), 0 op\(s\)/.test(c.out))
        throw new Error(`the no-op reconcile did not finish in one pass without ops:\n${c.out.slice(-3000)}`);
      cold.push(c);
      process.stderr.write(`sweep: ${n} nodes: cold no-op ${i + 1}: ${secs(c.ms)}, ${mb(c.rssKiB)}\n`);
    }
    process.stderr.write(`sweep: ${n} nodes: watching ${PASSES} passes…\n`);
    const w = await watch(state, file, PASSES);
    for (const p of w.passes)
      process.stderr.write(
        `sweep: ${n} nodes: warm pass ${p.outcome} ${p.ms} ms, ${p.commands} commands, ${p.connects} connects\n`,
      );
    const ms = w.passes.map((p) => p.ms);
    const perNode = [...new Set(w.passes.map((p) => (p.commands / n).toFixed(2)))].join(" / ");
    const notDone = w.passes.filter((p) => p.outcome !== "completed").length;
    return [
      String(n),
      secs(median(cold.map((c) => c.ms))),
      `${secs(median(ms))} (${secs(Math.min(...ms))}–${secs(Math.max(...ms))})${notDone ? `, ${notDone} not completed` : ""}`,
      perNode,
      String(w.passes.reduce((a, p) => a + p.connects, 0)),
      `${mb(Math.max(...cold.map((c) => c.rssKiB)))} / ${mb(w.hwmKiB)}`,
      `${w.cpu.machine.toFixed(2)} s: yagura ${w.cpu.yagura.toFixed(2)} s, idle lab ${w.cpu.idle.toFixed(2)} s, the rest ${(w.cpu.machine - w.cpu.yagura - w.cpu.idle).toFixed(2)} s`,
    ];
  } finally {
    process.stderr.write(`sweep: ${n} nodes: lab down\n`);
    await labDown(env, { stateRoot: state }).catch((e) => console.error(`lab down ${env}: ${(e as Error).message}`));
  }
}

async function main(): Promise<void> {
  const why = labPrerequisites();
  if (why.length) return console.log(`bench/sweep skipped: ${why.join("; ")}`);
  const root = mkdtempSync(join(tmpdir(), "yagura-sweep-"));
  const rows: string[][] = [];
  const notes: string[] = [];
  // Ctrl-C: tear every lab of this run down before leaving (labDown is harmless for one not up).
  const stop = (sig: NodeJS.Signals) =>
    void Promise.allSettled(SIZES.map((n) => labDown(`sweep${n}`, { stateRoot: join(root, `sweep${n}`) }))).then(
      () => (rmSync(root, { recursive: true, force: true }), process.exit(sig === "SIGINT" ? 130 : 143)),
    );
  process.once("SIGINT", stop).once("SIGTERM", stop);
  const loadBefore = load1();
  try {
    for (const n of SIZES) {
      if (n >= 250 && load1() >= 4) {
        notes.push(`${n} nodes skipped: the 1-minute load average is ${load1()} (runs only below 4)`);
        continue;
      }
      try {
        rows.push(await one(n, root));
      } catch (err) {
        notes.push(`${n} nodes failed: ${(err as Error).message.split("\n").slice(0, 6).join("\n  ")}`);
      }
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
    process.off("SIGINT", stop).off("SIGTERM", stop);
  }
  const head = [
    "nodes",
    "cold no-op reconcile (median of 3)",
    `warm --watch no-op pass, median (min–max) of ${PASSES}`,
    "SSH commands per node per warm pass",
    "connects in the warm passes",
    "peak RSS cold / watch",
    "machine CPU per warm pass (its interval included)",
  ];
  console.log(`load average before: ${loadBefore}; yagura: ${CLI} as built now`);
  console.log(`| ${head.join(" | ")} |\n|${head.map(() => "---").join("|")}|`);
  for (const r of rows) console.log(`| ${r.join(" | ")} |`);
  console.log("targets (#15, idle machine): cold 100 ≤ 2.5 s; warm 100 ≤ 0.5 s, 250 ≤ 1 s; memory at 250 ≤ 300 MB");
  for (const n of notes) console.log(n);
}

await main();
