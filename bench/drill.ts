/**
 * The fault drill (issue #17): a lab cluster shaped like inventory/lab.yaml (3 control-plane + 2
 * workers, the real Kubernetes binaries, the bridge pod network; bridge ygbr106d, 10.106.0.0/24),
 * reconciled to completed, then `yagura reconcile --watch` as a child process while one fault at a
 * time is injected for --minutes, in a seeded random order that brings every kind once before any
 * again (15 kinds; 10 minutes drew 19 faults): kill -9 of each service (one kind per service), a
 * deleted or corrupted certificate or kubeconfig, an edited run script, a node killed and booted
 * again, an etcd member's data wiped, and the watch itself SIGKILLed mid-op and started again. Writers put to etcd and
 * apply ConfigMaps beside it; every acknowledged write must read back at the end. Everything
 * yagura wrote (its output, records, /metrics, the service logs on the nodes) is scanned for
 * secrets. Prints the figures; exits 1 when a fault stayed unrepaired, a write was lost or a
 * secret was found.
 *
 *   npx tsx bench/drill.ts [--minutes 10] [--seed N] [--repair-timeout 300]     (root)
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { envPaths } from "../src/cluster/paths.js";
import { clusterSpec } from "../src/cluster/spec.js";
import { createKubeApi } from "../src/infra/kube.js";
import { loadInventory } from "../src/inventory/load.js";
import { labContext, labDown, labUp, readState } from "../src/lab/index.js";
import { endpointFromKubeconfig, kubeE2eSkipReason } from "../test/e2e/k8s-lab.js";
import { kubeWriter, type KubeWriterResult } from "../test/rebuild/kube-writer.js";
import { etcdWriter } from "../test/support/etcd-writer.js";
import { cli } from "../test/support/lab-cli.js";
import { fileSources, labNodeLogs, scanSecrets, stateSecrets } from "../test/support/secret-scan.js";
import { editRunScript, FAULTS, type DrillNode, type DrillWorld, type Fault, type Pick } from "./drill-faults.js";
import { WatchChild } from "./drill-watch.js";

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const MINUTES = arg("minutes", 10);
const SEED = arg("seed", randomBytes(4).readUInt32BE() >>> 0);
const REPAIR_MS = arg("repair-timeout", 300) * 1000;

const ROOT = resolve(import.meta.dirname, "..");
const BIN =
  process.env["YAGURA_KUBE_BIN_DIR"] ??
  spawnSync(join(ROOT, "scripts/kube-bin.sh"), { encoding: "utf8" }).stdout.trim().split("\n").at(-1);
const skip = kubeE2eSkipReason("bench/drill", BIN);
if (skip) {
  console.log(skip);
  process.exit(0);
}
process.env["YAGURA_KUBE_BIN_DIR"] = BIN;

/** mulberry32: a small seeded random source, so a run can be repeated with --seed. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = seeded(SEED);
const pick: Pick = (xs) => xs[Math.floor(random() * xs.length)]!;
/** Draws like a shuffled deck: every item once, in a seeded order, before any repeats. */
function deck<T>(xs: readonly T[]): () => T {
  let left: T[] = [];
  return () => {
    if (left.length === 0) {
      left = [...xs];
      for (let i = left.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [left[i], left[j]] = [left[j]!, left[i]!];
      }
    }
    return left.pop()!;
  };
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const load = () => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
const log = (l: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${l}`);

const ENV = "drill";
const root = mkdtempSync(join(tmpdir(), "yagura-drill-"));
const state = join(root, "state");
const file = join(root, `${ENV}.yaml`);
// The shape of the lab inventory itself, on the drill's own bridge and subnet.
writeFileSync(
  file,
  readFileSync(join(ROOT, "inventory/lab.yaml"), "utf8")
    .replace(/name: lab\b/, `name: ${ENV}`)
    .replace(/bridge: ygbr0\b/, "bridge: ygbr106d")
    .replaceAll("10.77.0.", "10.106.0."),
);
const loaded = loadInventory(file);
if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
const spec = clusterSpec(loaded.env, loaded.inventory);
const NODES: DrillNode[] = spec.nodes.map((n) => ({ name: n.name, address: n.address, role: n.role }));
const CP = NODES.filter((n) => n.role === "control-plane");
const stateKey = randomBytes(32).toString("base64");

console.log(`bench/drill: seed ${SEED} (repeat with --seed ${SEED}), ${MINUTES} min, load ${load()}`);
const loads: number[] = [];
const sampler = setInterval(() => loads.push(Number(load().split(" ")[0])), 10_000);

// SIGINT/SIGTERM end the drill early: the figures so far are printed and the lab is torn down.
let interrupted = false;
for (const sig of ["SIGINT", "SIGTERM"] as const)
  process.on(sig, () => {
    log(`${sig}: ending the drill after the fault in hand`);
    interrupted = true;
  });
const watch = new WatchChild(root, file, { YAGURA_STATE_DIR: state, YAGURA_STATE_KEY: stateKey });
let exit = 0;
try {
  const t0 = Date.now();
  await labUp(spec, { stateRoot: state });
  log(`lab up (${((Date.now() - t0) / 1000).toFixed(0)} s); reconciling to completed`);
  const first = await cli(state, ["reconcile", file, "--max-passes", "80"], undefined, {
    env: { YAGURA_STATE_KEY: stateKey },
  });
  writeFileSync(join(root, "reconcile.out"), first.out);
  if (first.code !== 0) throw new Error(`the first reconcile ended ${first.code}:\n${first.out.slice(-3000)}`);
  log(`reconciled (${((Date.now() - t0) / 1000).toFixed(0)} s): ${first.out.trim().split("\n").at(-1)}`);
  const kc = await cli(state, ["kubeconfig", file]);
  writeFileSync(join(root, "kubeconfig.out"), kc.out);
  const endpoint = endpointFromKubeconfig(readFileSync(kc.out.trim().split("\n").at(-1)!, "utf8"));
  const apis = CP.map((n) => createKubeApi({ ...endpoint, server: `https://${n.address}:6443` }, { timeoutMs: 3000 }));

  const world: DrillWorld = {
    state,
    env: ENV,
    nodes: NODES,
    apis,
    async restartNode(n) {
      const rec = readState(labContext(ENV, { stateRoot: state }).labDir)?.nodes[n.name];
      if (rec?.pid1) process.kill(rec.pid1, "SIGKILL");
      await sleep(2000);
      await labUp(spec, { stateRoot: state });
    },
  };
  await watch.start();
  if (!(await watch.waitFor(/watch pass \d+: completed/, 0, 300_000)))
    throw new Error("the watch never completed a pass");
  const etcdW = etcdWriter(
    state,
    CP.map((n) => `https://${n.address}:2379`),
    ENV,
    "drill",
  );
  const kubeW = kubeWriter(apis, { prefix: `drill-${Date.now()}-`, pauseMs: 100 });

  const results: { fault: Fault; ms?: number; passes: number; evidence?: string }[] = [];
  const drillStart = Date.now();
  const until = drillStart + MINUTES * 60_000;
  // Every kind of fault comes once before any comes again, so a run of n kinds' worth covers them all.
  const nextKind = deck([...Object.keys(FAULTS), "watch SIGKILLed mid-op"] as const);
  while (Date.now() < until && !interrupted) {
    const kind = nextKind();
    const at = Date.now();
    const mark = watch.lines.length;
    let fault: Fault;
    try {
      if (kind === "watch SIGKILLed mid-op") {
        // An edited run script makes sure an op runs; the watch is killed as soon as one starts.
        const inner = await editRunScript(world, pick);
        const started = await watch.waitFor(/^ {2}… \S+ on /, mark, 120_000);
        await watch.kill();
        await watch.start();
        fault = { ...inner, kind, detail: `${started ? "during an op" : "no op seen"}; ${inner.detail}` };
      } else fault = await FAULTS[kind as keyof typeof FAULTS](world, pick);
    } catch (err) {
      log(`could not inject ${kind}: ${(err as Error).message}`);
      await sleep(5000);
      continue;
    }
    log(`injected: ${fault.kind} on ${fault.node} (${fault.detail})`);
    let seen = await fault.check();
    while (!seen.ok && Date.now() - at < REPAIR_MS) {
      await sleep(2000);
      seen = await fault.check();
    }
    const passes = watch.passesSince(mark);
    if (seen.ok) {
      results.push({ fault, ms: Date.now() - at, passes });
      log(`repaired in ${((Date.now() - at) / 1000).toFixed(1)} s, ${passes} pass(es)`);
    } else {
      const evidence = `${seen.seen}; last pass: ${watch.lastPass() ?? "none"}; last failure: ${watch.lastFailure() ?? "none"}`;
      results.push({ fault, passes, evidence });
      log(`NOT repaired within ${REPAIR_MS / 1000} s: ${evidence}`);
    }
    // One fault at a time: the next waits until the watch says the cluster is whole again.
    await watch.waitFor(/^pass \d+: completed/, watch.lines.length, 180_000);
  }
  const faultsMs = Date.now() - drillStart;
  log("stopping writers and the watch");
  const etcdR = await etcdW.stop(CP.map((n) => `https://${n.address}:2379`));
  let kubeR: KubeWriterResult = { acked: kubeW.acked(), failed: 0, missing: ["(not read back)"], errors: [] };
  for (const api of apis) {
    kubeR = await kubeW.stop(api).catch(() => kubeR);
    if (kubeR.missing[0] !== "(not read back)") break;
  }
  const metrics = await fetch(`http://${watch.metricsAddr}/metrics`)
    .then((r) => r.text())
    .catch((e: Error) => `# /metrics unreachable: ${e.message}`);
  await watch.stop();
  for (const a of apis) await a.close().catch(() => undefined);

  // Everything yagura wrote, scanned for the environment's secrets and for secret shapes.
  const lab = readState(labContext(ENV, { stateRoot: state }).labDir);
  const nodeFiles = Object.values(lab?.nodes ?? {}).flatMap((n) => [...labNodeLogs(n.dir), join(n.dir, "console.log")]);
  const sources = [
    ...fileSources([
      join(root, "reconcile.out"),
      join(root, "kubeconfig.out"),
      ...watch.outputFiles(),
      envPaths(ENV, state).records,
      ...nodeFiles,
    ]),
    { name: "/metrics", text: metrics },
  ];
  const secrets = stateSecrets(envPaths(ENV, state).dir, [{ name: "YAGURA_STATE_KEY", value: stateKey }]);
  const findings = scanSecrets(sources, secrets);

  const repaired = results.filter((r) => r.ms !== undefined);
  const ms = repaired.map((r) => r.ms!).sort((a, b) => a - b);
  const q = (p: number) =>
    ms.length ? (ms[Math.min(ms.length - 1, Math.ceil(p * ms.length) - 1)]! / 1000).toFixed(1) : "-";
  const ps = repaired.map((r) => r.passes).sort((a, b) => a - b);
  console.log(
    `\n== bench/drill: seed ${SEED}, ${(faultsMs / 60_000).toFixed(1)} min of faults (the last one seen through to its repair)`,
  );
  console.log(`faults injected: ${results.length}; repaired: ${repaired.length}`);
  const byKind = new Map<string, number[]>();
  for (const r of results) byKind.set(r.fault.kind, [...(byKind.get(r.fault.kind) ?? []), r.ms ?? NaN]);
  for (const [k, v] of [...byKind].sort())
    console.log(
      `  ${k.padEnd(34)} ${v.map((x) => (Number.isNaN(x) ? "unrepaired" : `${(x / 1000).toFixed(1)}s`)).join(" ")}`,
    );
  const undrawn = [...Object.keys(FAULTS), "watch SIGKILLed mid-op"].filter((k) => !byKind.has(k));
  if (undrawn.length) console.log(`  not drawn in this run (give more --minutes): ${undrawn.join(", ")}`);
  console.log(`time to repair: median ${q(0.5)} s, p95 ${q(0.95)} s, max ${q(1)} s`);
  console.log(
    `reconcile passes per repair (0: an op already in hand or runit repaired it): median ${ps[Math.floor((ps.length - 1) / 2)] ?? "-"}, max ${ps.at(-1) ?? "-"}`,
  );
  console.log(
    `etcd writes: ${etcdR.acked} acknowledged, ${etcdR.failed} failed, ${etcdR.missing.length} acknowledged lost`,
  );
  console.log(
    `ConfigMap writes: ${kubeR.acked} acknowledged, ${kubeR.failed} failed, ${kubeR.missing.length} acknowledged lost`,
  );
  if (kubeR.errors.length) console.log(`  API errors seen: ${kubeR.errors.join(" | ").slice(0, 400)}`);
  for (const r of results.filter((x) => x.ms === undefined))
    console.log(`NOT REPAIRED: ${r.fault.kind} on ${r.fault.node} (${r.fault.detail}): ${r.evidence}`);
  console.log(
    `secret scan: ${sources.length} sources, ${secrets.length} secrets, ${findings.length} finding(s)` +
      findings
        .slice(0, 20)
        .map((f) => `\n  ${f.source}:${f.line}: ${f.what}`)
        .join(""),
  );
  const sorted = [...loads].sort((a, b) => a - b);
  console.log(
    `load average (1 min): median ${sorted[Math.floor(sorted.length / 2)] ?? "-"}, max ${sorted.at(-1) ?? "-"}; now ${load()}`,
  );
  if (results.length > repaired.length || etcdR.missing.length || kubeR.missing.length || findings.length) exit = 1;
} catch (err) {
  console.error(`bench/drill failed: ${(err as Error).stack ?? String(err)}`);
  const tail = watch.lines.slice(-30).join("\n");
  if (tail) console.error(`last watch output:\n${tail}`);
  exit = 1;
} finally {
  clearInterval(sampler);
  await watch.stop().catch(() => undefined);
  await labDown(ENV, { stateRoot: state }).catch((e: Error) => console.error(`lab down: ${e.message}`));
  if (process.env["YAGURA_DRILL_KEEP"]) console.log(`kept ${root}`);
  else rmSync(root, { recursive: true, force: true });
}
process.exit(exit);
