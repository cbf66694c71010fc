/**
 * Synthesis benchmark: builds and synthesizes one ClusterStack for 10, 100 and 1000 nodes, with
 * inventories generated in memory from the example, and prints time and memory per size.
 * Run: `npx tsx bench/synth.ts [sizes…]`. Prints figures; asserts nothing.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { App } from "cdktf";
import { expandNodes } from "../src/cluster/spec.js";
import { loadInventory } from "../src/inventory/load.js";
import { generateHostKey } from "../src/pki/host-keys.js";
import type { Inventory } from "../src/inventory/schema.js";
import { ClusterStack } from "../stacks/cluster-stack.js";
import { withoutCreationStacks } from "../stacks/quiet-stacks.js";
import { checkStack, loadProviderSchema } from "../stacks/schema-check.js";

/** The example inventory scaled to `nodes` nodes: 3 control-plane VMs, 80% VM and 20% bare-metal workers. */
function inventoryOf(nodes: number): Inventory {
  const res = loadInventory("example");
  if (!res.ok) throw new Error("example inventory is invalid");
  const inv = structuredClone(res.inventory);
  inv.openstack!.network.cidr = "10.0.0.0/16";
  inv.networking.calico.routeReflectors.nodes = [];
  const workers = nodes - 3;
  const metal = Math.floor(workers / 5);
  const [cp, general, bm] = inv.nodePools as [
    Inventory["nodePools"][number],
    Inventory["nodePools"][number],
    Inventory["nodePools"][number],
  ];
  Object.assign(cp, { count: 3, firstAddress: "10.0.0.10" });
  Object.assign(general, { count: workers - metal, firstAddress: "10.0.16.1" });
  Object.assign(bm, { count: metal, firstAddress: "10.0.64.1" });
  return inv;
}

interface Row {
  nodes: number;
  resources: number;
  buildMs: number;
  synthMs: number;
  /** CPU time of build + synth: steadier than wall time on a busy machine. */
  cpuMs: number;
  /** Schema check of the written JSON (synthApp runs it after synth). */
  checkMs: number;
  jsonMiB: number;
  heapMiB: number;
  maxRssMiB: number;
}

function run(nodes: number): Row {
  const inv = inventoryOf(nodes);
  const outdir = mkdtempSync(join(tmpdir(), "yagura-bench-"));
  // Issued host keys in memory: the bench measures the stack, not key generation.
  const hostKeys = new Map(
    expandNodes(inv)
      .filter((n) => n.managed)
      .map((n) => [n.name, generateHostKey(n.name).publicKey]),
  );
  try {
    // The same path as `cdktf synth` (stacks/app.ts): construction and synthesis without creation stacks.
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const app = withoutCreationStacks(() => {
      const a = new App({ outdir });
      new ClusterStack(a, "bench", { env: "bench", inventory: inv, hostKeys });
      return a;
    });
    const t1 = performance.now();
    withoutCreationStacks(() => app.synth());
    const t2 = performance.now();
    const cpu = process.cpuUsage(c0);
    const heap = process.memoryUsage().heapUsed;
    const file = join(outdir, "stacks/bench/cdk.tf.json");
    const t3 = performance.now();
    const findings = checkStack(JSON.parse(readFileSync(file, "utf8")), schema);
    const checkMs = performance.now() - t3;
    if (findings.length > 0) throw new Error(`schema findings at ${nodes} nodes: ${findings[0]!.message}`);
    return {
      nodes,
      resources: app.node.findAll().filter((c) => "terraformResourceType" in c).length,
      buildMs: t1 - t0,
      synthMs: t2 - t1,
      cpuMs: (cpu.user + cpu.system) / 1000,
      checkMs,
      jsonMiB: statSync(file).size / 2 ** 20,
      heapMiB: heap / 2 ** 20,
      // maxRSS is the process's peak so far (KiB); sizes run in ascending order, so it is this size's peak.
      maxRssMiB: process.resourceUsage().maxRSS / 1024,
    };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

const schema = loadProviderSchema();
const sizes = process.argv
  .slice(2)
  .map(Number)
  .filter((n) => n > 3);
run(10); // warm-up: module loading and template compilation are not part of any size's figure
const rows = (sizes.length ? sizes : [10, 100, 1000]).sort((a, b) => a - b).map(run);
const fmt = (n: number, d = 0) => n.toFixed(d).padStart(9);
console.log("    nodes resources  build ms  synth ms  total ms    cpu ms  check ms  json MiB  heap MiB maxRSS MiB");
for (const r of rows) {
  console.log(
    [
      fmt(r.nodes),
      fmt(r.resources),
      fmt(r.buildMs),
      fmt(r.synthMs),
      fmt(r.buildMs + r.synthMs),
      fmt(r.cpuMs),
      fmt(r.checkMs),
      fmt(r.jsonMiB, 1),
      fmt(r.heapMiB),
      fmt(r.maxRssMiB),
    ].join(" "),
  );
}
