/**
 * decide() time for 100, 1000 and 5000 nodes (5 control-plane, the rest workers), for a cluster
 * that is complete and for one with a stopped etcd member. Prints figures; asserts nothing.
 * Run: npx tsx bench/decide.ts
 */
import { performance } from "node:perf_hooks";
import { decide } from "../src/decide/index.js";
import { statusBuilder, testDesired, testSpec } from "../test/decide/builder.js";

const now = new Date("2026-01-01T00:00:00Z");
for (const n of [100, 1000, 5000]) {
  const spec = testSpec(5, n - 5);
  const desired = testDesired(spec);
  const cases = {
    complete: statusBuilder(spec, desired).provisioned().etcd().build(),
    "stopped member": statusBuilder(spec, desired).provisioned().etcd().stopped("cp2").build(),
  };
  for (const [name, status] of Object.entries(cases)) {
    for (let i = 0; i < 5; i++) decide(spec, status, { now, desired, scope: "etcd" }); // warm up
    const runs = 50;
    const times: number[] = [];
    let phase = "";
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      phase = decide(spec, status, { now, desired, scope: "etcd" }).phase;
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    const p50 = times[Math.floor(runs / 2)]!;
    const max = times[runs - 1]!;
    console.log(
      `decide ${String(n).padStart(5)} nodes, ${name.padEnd(14)} → ${phase.padEnd(10)} median ${p50.toFixed(3)} ms, max ${max.toFixed(3)} ms`,
    );
  }
}
