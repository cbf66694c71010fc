/**
 * A no-op pass (observe + decide on a converged cluster) over 3 and 30 lab nodes: wall time and
 * SSH round trips per node. Needs root and the lab packages; uses bridge ygbr79b, 10.79.2.0/24.
 * Run: npx tsx bench/observe.ts
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { clusterSpec } from "../src/cluster/spec.js";
import { decide } from "../src/decide/index.js";
import { loadInventory } from "../src/inventory/load.js";
import { labDown, labPrerequisites, labUp } from "../src/lab/index.js";
import { observe } from "../src/observe/index.js";
import { reconcileLoop } from "../src/run/loop.js";
import { session } from "../src/run/session.js";

const missing = labPrerequisites();
if (missing.length) {
  console.log(`bench/observe skipped: ${missing.join("; ")}`);
  process.exit(0);
}

async function bench(count: number): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), "yagura-bench-observe-"));
  const env = `bo${count}`;
  const file = join(root, `${env}.yaml`);
  const nodes = Array.from(
    { length: count },
    (_, i) => `  - { name: n${i + 1}, address: 10.79.2.${11 + i}, role: ${i < 3 ? "control-plane" : "worker"} }`,
  );
  writeFileSync(
    file,
    [
      "cluster: { name: bench, kubernetesVersion: '1.33.5' }",
      "lab: { bridge: ygbr79b, cidr: 10.79.2.0/24 }",
      "staticNodes:",
      ...nodes,
      "networking: { calico: { routeReflectors: { enabled: false } } }",
      "",
    ].join("\n"),
  );
  const r = loadInventory(file);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  const spec = clusterSpec(r.env, r.inventory);
  const state = join(root, "state");
  process.env.YAGURA_STATE_DIR = state;
  try {
    await labUp(spec, { stateRoot: state });
    const io = session(spec, { stateRoot: state });
    const res = await reconcileLoop(
      {
        spec,
        prepare: io.prepare,
        open: io.open,
        records: {
          start: (op, targets) => ({ id: "b", op, targets, status: "running", startedAt: "", token: 0 }),
          update: (r, p) => ({ ...r, ...p }),
        },
        now: () => new Date(),
        sleep: (ms) => new Promise((s) => setTimeout(s, ms)),
        progress: () => undefined,
      },
      { scope: "etcd" },
    );
    if (res.outcome !== "completed") throw new Error(`setup did not converge: ${res.phase} ${res.message}`);
    for (let i = 0; i < 4; i++) {
      const m = await io.prepare(new Date());
      const pass = io.open(m);
      const t = performance.now();
      const status = await observe(spec, m.desired, pass);
      const d = decide(spec, status, { now: new Date(), desired: m.desired, scope: "etcd" });
      const ms = performance.now() - t;
      const trips = [...pass.shell.roundTrips.values()];
      await pass.close();
      console.log(
        `observe ${String(count).padStart(2)} nodes, pass ${i + 1}: ${ms.toFixed(0)} ms → ${d.phase}; ` +
          `SSH round trips per node: max ${Math.max(...trips)}, total ${trips.reduce((a, b) => a + b, 0)}`,
      );
    }
  } finally {
    await labDown(env, { stateRoot: state }).catch((e) => console.error(`lab down: ${(e as Error).message}`));
    rmSync(root, { recursive: true, force: true });
  }
}

await bench(3);
await bench(30);
