/**
 * The watch mode over 30 lab nodes (3 control-plane, 27 workers; bridge ygbr89w, 10.89.0.0/24):
 *   1. a no-op watch pass as `reconcile --watch` runs it (prepare, open, observe, decide, close):
 *      wall time, CPU (user+sys) of this process, SSH round trips (NodeShell's own counter);
 *   2. the real `reconcile --watch --interval 10s` child: its CPU per pass from /proc;
 *   3. time to repair: `kill -9` of etcd on node2 (runit restarts it; the watch finds nothing to do)
 *      and `sv down` of etcd on node2 (only the watch brings it back, at its next pass).
 * Needs root and the lab packages. Run: npx tsx bench/watch.ts. Prints figures; asserts nothing.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { envPaths } from "../src/cluster/paths.js";
import { clusterSpec } from "../src/cluster/spec.js";
import { loadInventory } from "../src/inventory/load.js";
import { labDown, labExec, labPrerequisites, labUp } from "../src/lab/index.js";
import { reconcileLoop, type PassIO } from "../src/run/loop.js";
import { readRecords } from "../src/run/records.js";
import { session } from "../src/run/session.js";

const missing = labPrerequisites();
if (missing.length) {
  console.log(`bench/watch skipped: ${missing.join("; ")}`);
  process.exit(0);
}

const ROOT = resolve(import.meta.dirname, "..");
const ENV = "bw89";
const COUNT = 30;
const root = mkdtempSync(join(tmpdir(), "yagura-bench-watch-"));
const state = join(root, "state");
const file = join(root, `${ENV}.yaml`);
process.env.YAGURA_STATE_DIR = state;
writeFileSync(
  file,
  [
    "cluster: { name: benchwatch, kubernetesVersion: '1.33.5' }",
    "lab: { bridge: ygbr89w, cidr: 10.89.0.0/24 }",
    "staticNodes:",
    ...Array.from(
      { length: COUNT },
      (_, i) => `  - { name: node${i + 1}, address: 10.89.0.${11 + i}, role: ${i < 3 ? "control-plane" : "worker"} }`,
    ),
    "networking: { calico: { routeReflectors: { enabled: false } } }",
    "",
  ].join("\n"),
);
const loaded = loadInventory(file);
if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
const spec = clusterSpec(loaded.env, loaded.inventory);
const io = session(spec, { stateRoot: state });
const records = {
  start: (op: string, targets: readonly string[]) => ({
    id: "b",
    op,
    targets,
    status: "running" as const,
    startedAt: "",
    token: 0,
  }),
  update: <R>(r: R, p: object) => ({ ...r, ...p }) as R,
};

/** One reconcile pass as the watch runs it, with its wall time, CPU time and SSH round trips. */
async function pass(): Promise<{ outcome: string; ms: number; cpuMs: number; trips: number }> {
  let last: PassIO | undefined;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const r = await reconcileLoop(
    {
      spec,
      prepare: io.prepare,
      open: (m) => (last = io.open(m)),
      records,
      now: () => new Date(),
      sleep: (ms) => new Promise((s) => setTimeout(s, ms)),
      progress: () => undefined,
    },
    { scope: "etcd" },
  );
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  const trips = [...(last?.shell.roundTrips.values() ?? [])].reduce((a, b) => a + b, 0);
  return { outcome: `${r.outcome} (${r.phase}, ${r.opsRun} ops)`, ms, cpuMs: (cpu.user + cpu.system) / 1000, trips };
}

const pki = envPaths(ENV, state).pkiDir;
const healthy = (address: string) =>
  spawnSync(
    "/usr/bin/etcdctl",
    [
      `--endpoints=https://${address}:2379`,
      `--cacert=${join(pki, "etcd-client-ca.crt")}`,
      `--cert=${join(pki, "etcd-admin.crt")}`,
      `--key=${join(pki, "etcd-admin.key")}`,
      "--command-timeout=2s",
      "endpoint",
      "health",
    ],
    { env: { ...process.env, ETCDCTL_API: "3" }, encoding: "utf8" },
  ).status === 0;

async function until(ms: number, ok: () => boolean): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (ok()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

/** utime + stime of a process in ms (clock ticks of 10 ms). */
const cpuOf = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(f[11]) + Number(f[12])) * 10;
};

try {
  const t = performance.now();
  await labUp(spec, { stateRoot: state });
  console.log(`lab up, ${COUNT} nodes: ${((performance.now() - t) / 1000).toFixed(1)} s`);
  const setup = await pass();
  console.log(`first reconcile (etcd on node1–3): ${(setup.ms / 1000).toFixed(1)} s → ${setup.outcome}`);

  console.log(`\n1. a no-op watch pass over ${COUNT} nodes (in this process):`);
  for (let i = 1; i <= 5; i++) {
    const p = await pass();
    console.log(
      `   pass ${i}: ${p.ms.toFixed(0)} ms wall, ${p.cpuMs.toFixed(0)} ms CPU (user+sys), ${p.trips} SSH round trips → ${p.outcome}`,
    );
  }

  console.log("\n2. reconcile --watch --interval 10s --scope etcd as a child process:");
  let out = "";
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      join(ROOT, "src/cli/main.ts"),
      "reconcile",
      file,
      "--watch",
      "--interval",
      "10s",
      "--scope",
      "etcd",
    ],
    { cwd: ROOT, env: { ...process.env, NODE_NO_WARNINGS: "1" }, stdio: ["ignore", "pipe", "pipe"] },
  );
  const cpuAtPass: number[] = [];
  child.stdout.on("data", (d: Buffer) => {
    out += d.toString();
    for (const _ of d.toString().matchAll(/watch pass \d+: /g)) cpuAtPass.push(cpuOf(child.pid!));
  });
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  try {
    if (!(await until(120_000, () => cpuAtPass.length >= 4))) throw new Error(`watch did not pass:\n${out}`);
    console.log(`   CPU to start and run the first pass: ${cpuAtPass[0]} ms`);
    for (let i = 1; i < cpuAtPass.length; i++)
      console.log(`   no-op pass ${i + 1} (with ~10 s idle before it): ${cpuAtPass[i]! - cpuAtPass[i - 1]!} ms CPU`);

    console.log("\n3. time to repair etcd on node2 (10.89.0.12), interval 10 s:");
    const recordsFile = envPaths(ENV, state).records;
    for (let round = 1; round <= 2; round++) {
      const pid = (
        await labExec(ENV, "node2", "cat /etc/service/etcd/supervise/pid", { stateRoot: state })
      ).stdout.trim();
      const k0 = Date.now();
      await labExec(ENV, "node2", `kill -9 ${pid}`, { stateRoot: state });
      // Repaired = runit runs a new etcd process (another pid) and that member answers a health check.
      let newPid = "";
      const pidNow = async () =>
        (await labExec(ENV, "node2", "cat /etc/service/etcd/supervise/pid", { stateRoot: state })).stdout.trim();
      const end = Date.now() + 60_000;
      while (Date.now() < end) {
        const p = await pidNow();
        if (p && p !== pid && healthy("10.89.0.12")) {
          newPid = p;
          break;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      const secs = ((Date.now() - k0) / 1000).toFixed(2);
      const ops = readRecords(recordsFile).filter((r) => Date.parse(r.startedAt) >= k0 - 1000);
      console.log(
        `   kill -9 #${round} (pid ${pid}): ${newPid ? `new pid ${newPid}, healthy after ${secs} s` : "NOT back within 60 s"}` +
          `; ops the watch ran: ${ops.map((r) => r.op).join(", ") || "none (runit restarted it)"}`,
      );
      await new Promise((r) => setTimeout(r, 3000));
    }
    for (let round = 1; round <= 2; round++) {
      const s0 = Date.now();
      await labExec(ENV, "node2", "sv -w 10 down /etc/service/etcd", { stateRoot: state });
      const repaired = await until(
        60_000,
        () =>
          readRecords(recordsFile).some(
            (r) => r.op === "etcd-start" && r.status === "succeeded" && Date.parse(r.startedAt) >= s0 - 1000,
          ) && healthy("10.89.0.12"),
      );
      console.log(
        `   sv down #${round}: ${repaired ? `repaired by the watch (etcd-start) after ${((Date.now() - s0) / 1000).toFixed(1)} s` : "NOT repaired within 60 s"}`,
      );
      await new Promise((r) => setTimeout(r, 2000));
    }
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("close", r));
  }
} finally {
  await labDown(ENV, { stateRoot: state }).catch((e) => console.error(`lab down: ${(e as Error).message}`));
  rmSync(root, { recursive: true, force: true });
}
