/**
 * Artifact copy benchmark: brings up a lab of N nodes (3 control-plane, the rest workers), then runs
 * the k8s-artifacts op with the real Kubernetes binaries from a local directory (control-plane
 * nodes get all five, workers kubelet and kube-proxy), as the reconciler would over its SSH pool.
 * Each run starts from nodes without the binaries. Prints the time per run, the bytes that reached
 * the nodes per second, and the CPU this process used; asserts nothing. Needs root.
 * Run: npx tsx bench/artifacts.ts [nodes…] [--runs N] [--concurrency N[,N…]] [--bin DIR]
 *      (default 5 30; DIR defaults to $YAGURA_KUBE_BIN_DIR, else .cache/kube-bin)
 */
import { createHash } from "node:crypto";
import { createReadStream, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { clusterSpec } from "../src/cluster/spec.js";
import { envPaths } from "../src/cluster/paths.js";
import { createSshPool } from "../src/infra/ssh.js";
import { parseInventory } from "../src/inventory/load.js";
import type { ArtifactPlan, Component } from "../src/k8s/artifacts.js";
import { labContext, labDown, labPrerequisites, labUp } from "../src/lab/index.js";
import { ownCgroupDirs } from "../src/lab/cgroup.js";
import { mapLimit } from "../src/lab/exec.js";
import { ARTIFACT_UPLOADS_AT_ONCE, installArtifactsOp, type ArtifactTarget } from "../src/ops/k8s/artifacts.js";
import type { OpContext } from "../src/ops/types.js";

const argv = process.argv.slice(2);
const flag = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv.splice(i, 2)[1] : undefined;
};
const RUNS = Number(flag("--runs") ?? 2);
const AT_ONCE = (flag("--concurrency") ?? String(ARTIFACT_UPLOADS_AT_ONCE)).split(",").map(Number);
const BIN = resolve(
  flag("--bin") ?? process.env.YAGURA_KUBE_BIN_DIR ?? join(import.meta.dirname, "..", ".cache", "kube-bin"),
);
const sizes = argv.map(Number).filter((n) => Number.isInteger(n) && n >= 3 && n <= 200);
const SIZES = sizes.length ? sizes : [5, 30];

const CONTROL_PLANE: Component[] = [
  "kube-apiserver",
  "kube-controller-manager",
  "kube-scheduler",
  "kubelet",
  "kube-proxy",
];
const WORKER: Component[] = ["kubelet", "kube-proxy"];
const INSTALL_DIR = "/opt/yagura/bench-bin";

const address = (i: number) => `10.95.${1 + Math.floor(i / 200)}.${11 + (i % 200)}`;

function inventory(n: number): string {
  return [
    "cluster: { name: artbench, kubernetesVersion: '1.33.5' }",
    "lab: { bridge: ygbr95art, cidr: 10.95.0.0/16 }",
    "staticNodes:",
    ...Array.from(
      { length: n },
      (_, i) => `  - { name: n${i + 1}, address: ${address(i)}, role: ${i < 3 ? "control-plane" : "worker"} }`,
    ),
    "networking: { calico: { routeReflectors: { enabled: false } } }",
    "",
  ].join("\n");
}

async function sha256(path: string): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest("hex");
}

/** CPU seconds the lab's nodes used so far (sshd, cat, sync, sha256sum …), from their cpuacct cgroup. */
function nodesCpu(group: string): number {
  const dir = ownCgroupDirs().find((d) => /\/cpuacct(,|\/|$)|cpu,cpuacct/.test(d));
  if (!dir) return NaN;
  try {
    return Number(readFileSync(join(dir, group, "cpuacct.usage"), "utf8")) / 1e9;
  } catch {
    return NaN;
  }
}

/** Busy share of the machine's CPUs between two /proc/stat readings. */
function cpuTicks(): { busy: number; total: number } {
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0]!.split(/\s+/).slice(1).map(Number);
  const idle = f[3]! + f[4]!;
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

async function one(n: number, root: string, plans: Map<Component, ArtifactPlan>): Promise<string[][]> {
  const env = `art${n}`;
  const r = parseInventory(inventory(n), `${env}.yaml`);
  if (!r.ok) throw new Error(r.problems.map((p) => p.message).join("\n"));
  const spec = clusterSpec(r.env, r.inventory);
  const paths = envPaths(env, root);
  process.stderr.write(`bench: lab of ${n} nodes…\n`);
  await labUp(spec, { stateRoot: root, pauseImage: false });
  const targets: ArtifactTarget[] = spec.nodes.map((node, i) => ({
    node: node.name,
    plans: (i < 3 ? CONTROL_PLANE : WORKER).map((c) => plans.get(c)!),
  }));
  const bytes = targets.reduce(
    (a, t) => a + t.plans.reduce((b, p) => b + statSync((p.origin as { path: string }).path).size, 0),
    0,
  );
  const rows: string[][] = [];
  for (let run = 1; run <= RUNS; run++)
    for (const atOnce of AT_ONCE) {
      const shell = createSshPool({
        targets: spec.nodes.map((x) => ({ name: x.name, host: x.address, port: 22, user: "root" })),
        privateKeyPath: paths.sshKey,
        knownHostsPath: paths.knownHosts,
        // 30 handshakes at once on a busy 2-core machine can take longer than the default 10 s.
        connectTimeoutMs: 30_000,
      });
      const ctx: OpContext = {
        shell,
        etcdAdmin: () => {
          throw new Error("not implemented");
        },
        sleep: (ms) => new Promise((res) => setTimeout(res, ms)),
        now: () => new Date(),
      };
      try {
        // Every run starts from nodes without the binaries (connections opened before the clock starts).
        await mapLimit(spec.nodes, 4, (x) => shell.run(x.name, `rm -rf ${INSTALL_DIR}`));
        const group = labContext(env, { stateRoot: root }).names.cgroupGroup;
        const node0 = nodesCpu(group);
        const cpu0 = process.cpuUsage();
        const m0 = cpuTicks();
        const t0 = performance.now();
        const op = installArtifactsOp(targets, { concurrency: atOnce });
        for (let c = op.nextCommand(); c; c = op.nextCommand()) await c.run(ctx);
        const s = (performance.now() - t0) / 1000;
        const cpu = process.cpuUsage(cpu0);
        const m1 = cpuTicks();
        rows.push([
          String(n),
          String(run),
          String(atOnce),
          `${(bytes / 1e6).toFixed(0)} MB`,
          `${s.toFixed(1)} s`,
          `${(bytes / 1e6 / s).toFixed(0)} MB/s`,
          `${((cpu.user + cpu.system) / 1e6).toFixed(1)} s`,
          `${(nodesCpu(group) - node0).toFixed(1)} s`,
          `${((100 * (m1.busy - m0.busy)) / (m1.total - m0.total)).toFixed(0)} %`,
        ]);
        process.stderr.write(`bench: ${n} nodes, run ${run}, ${atOnce} at once: ${s.toFixed(1)} s\n`);
      } finally {
        await shell.close();
      }
    }
  await labDown(env, { stateRoot: root });
  return rows;
}

async function main(): Promise<void> {
  const why = labPrerequisites();
  if (why.length) return console.log(`artifacts bench skipped: ${why.join("; ")}`);
  const missing = CONTROL_PLANE.filter((c) => !existsSync(join(BIN, c)));
  if (missing.length) return console.log(`artifacts bench skipped: ${missing.join(", ")} not in ${BIN} (--bin DIR)`);
  const plans = new Map<Component, ArtifactPlan>();
  for (const c of CONTROL_PLANE) {
    const path = join(BIN, c);
    plans.set(c, {
      name: c,
      version: "bench",
      sha256: await sha256(path),
      nodePath: `${INSTALL_DIR}/${c}`,
      origin: { kind: "local", path, via: "YAGURA_KUBE_BIN_DIR" },
    });
  }
  const root = mkdtempSync(join(tmpdir(), "yagura-art-bench-"));
  const head = [
    "nodes",
    "run",
    "uploads at once",
    "copied",
    "time",
    "throughput",
    "CPU (this process)",
    "CPU (nodes)",
    "machine CPU busy",
  ];
  const rows: string[][] = [];
  try {
    for (const n of SIZES) rows.push(...(await one(n, root, plans)));
  } finally {
    for (const n of SIZES) await labDown(`art${n}`, { stateRoot: root }).catch(() => {});
    rmSync(root, { recursive: true, force: true });
  }
  console.log(`| ${head.join(" | ")} |\n|${head.map(() => "---").join("|")}|`);
  for (const r of rows) console.log(`| ${r.join(" | ")} |`);
}

await main();
