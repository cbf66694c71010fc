/**
 * CLI start-up: each command run as a cold process of the built CLI (bin/yagura.mjs), as a user
 * or a timer runs it: `--version`, `validate lab`, `render lab`, and `status --json` on a running
 * 5-node lab of lab.yaml's shape (its own bridge ygbr101c, 10.101.0.0/24; brought up for the run and
 * torn down after it, also when a step fails). Median, min and max of 5 runs each, wall time and the
 * CPU the process used. `--compare` adds the same commands run from the sources through tsx.
 * Prints figures; asserts nothing (the machine is shared). The status row needs root.
 * Run: npx tsx bench/cli.ts [--compare]
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { labPrerequisites } from "../src/lab/index.js";

const ROOT = resolve(import.meta.dirname, "..");
const RUNS = 5;
const root = mkdtempSync(join(tmpdir(), "yagura-bench-cli-"));
// `render lab` needs the Kubernetes binaries its release comes from (kubernetesVersion: local);
// the other rows run without them, as a new user would, and one row shows what they cost.
const kubeBin =
  process.env.YAGURA_KUBE_BIN_DIR ??
  (spawnSync(join(ROOT, "scripts/kube-bin.sh"), { encoding: "utf8" }).stdout ?? "").trim();
const env: NodeJS.ProcessEnv = { ...process.env, YAGURA_STATE_DIR: join(root, "state") };
delete env.YAGURA_KUBE_BIN_DIR;
const withBin: NodeJS.ProcessEnv = { ...env, YAGURA_KUBE_BIN_DIR: kubeBin };

/** How a command line is started: the build, or (with --compare) the sources through tsx. */
const launchers: { name: string; argv: string[] }[] = [
  { name: "build", argv: [join(ROOT, "bin/yagura.mjs")] },
  ...(process.argv.includes("--compare")
    ? [{ name: "sources (tsx)", argv: ["--import", import.meta.resolve("tsx"), join(ROOT, "src/cli/main.ts")] }]
    : []),
];

/** One cold run: wall ms and the CPU ms of the process (user + system, from GNU time when present). */
function run(argv: string[], args: string[], e = env): { ms: number; cpuMs?: number } {
  const time = existsSync("/usr/bin/time");
  const cpuFile = join(root, "cpu");
  const cmd = time ? "/usr/bin/time" : process.execPath;
  const full = time ? ["-o", cpuFile, "-f", "%U %S", process.execPath, ...argv, ...args] : [...argv, ...args];
  const t = performance.now();
  const r = spawnSync(cmd, full, { cwd: root, env: e, encoding: "utf8", timeout: 300_000 });
  const ms = performance.now() - t;
  if (r.status !== 0)
    throw new Error(`yagura ${args.join(" ")} exited ${r.status ?? r.signal}: ${r.stderr.slice(-2000)}`);
  if (!time) return { ms };
  const [u, s] = readFileSync(cpuFile, "utf8").trim().split("\n").pop()!.split(" ").map(Number);
  return { ms, cpuMs: ((u ?? 0) + (s ?? 0)) * 1000 };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const rows: string[][] = [];

function measure(label: string, args: string[], e = env): void {
  for (const l of launchers) {
    const runs = Array.from({ length: RUNS }, () => run(l.argv, args, e));
    const ms = runs.map((r) => r.ms);
    const cpu = runs.flatMap((r) => (r.cpuMs === undefined ? [] : [r.cpuMs]));
    rows.push([
      label,
      l.name,
      s(median(ms)),
      s(Math.min(...ms)),
      s(Math.max(...ms)),
      cpu.length ? s(median(cpu)) : "?",
    ]);
  }
}

function printTable(): void {
  const head = ["command", "runs", "median", "min", "max", "CPU (median)"];
  const all = [head, ...rows];
  const w = head.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(w[i]!)).join(" | ")} |`;
  console.log(line(head));
  console.log(`|${w.map((n) => "-".repeat(n + 2)).join("|")}|`);
  for (const r of rows) console.log(line(r));
  console.log(
    `(${RUNS} cold processes each; load average ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")})`,
  );
}

/**
 * lab.yaml's shape on the bench's own bridge and subnet, with a release written out instead of
 * `local` (which needs the binaries, hashed by every process: the row with YAGURA_KUBE_BIN_DIR
 * shows that cost) and the binaries in the node image, so nothing is downloaded or hashed.
 */
function benchInventory(): string {
  const lab = readFileSync(join(ROOT, "inventory/lab.yaml"), "utf8")
    .replace(/bridge: ygbr0\b/, "bridge: ygbr101c")
    .replaceAll("10.77.0.", "10.101.0.")
    .replace("kubernetesVersion: local", "kubernetesVersion: 1.33.5")
    .replace(/^( {2}source:) local$/m, "$1 image");
  if (!lab.includes("ygbr101c") || /10\.77\.0\.|: local\b/.test(lab))
    throw new Error("inventory/lab.yaml changed shape");
  const file = join(root, "clibench.yaml");
  writeFileSync(file, lab);
  return file;
}

try {
  // A first run makes the build if it is missing or older than the sources; not measured.
  run(launchers[0]!.argv, ["--version"]);
  measure("--version", ["--version"]);
  measure("validate lab", ["validate", "lab"]);
  if (kubeBin) {
    measure("validate lab, YAGURA_KUBE_BIN_DIR set", ["validate", "lab"], withBin);
    measure("render lab", ["render", "lab", "--out", join(root, "rendered")], withBin);
  } else measure("render example", ["render", "example", "--out", join(root, "rendered")]);
  const missing = labPrerequisites();
  if (missing.length > 0) console.log(`status --json skipped: ${missing.join("; ")}`);
  else {
    const file = benchInventory();
    try {
      run(launchers[0]!.argv, ["lab", "up", file]);
      // etcd running, so status observes it as well as the nodes (no Kubernetes binaries needed)
      run(launchers[0]!.argv, ["reconcile", file, "--scope", "etcd"]);
      measure("status --json (5-node lab)", ["status", file, "--json"]);
    } finally {
      try {
        run(launchers[0]!.argv, ["lab", "down", file]);
      } catch (err) {
        console.error(`lab down: ${(err as Error).message}`);
      }
    }
  }
  if (!kubeBin) console.log("render lab needs YAGURA_KUBE_BIN_DIR (or scripts/kube-bin.sh): rendered example");
} finally {
  printTable();
  rmSync(root, { recursive: true, force: true });
}
