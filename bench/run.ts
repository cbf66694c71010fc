/**
 * `npm run bench`: runs the benchmarks one after another, each in its own process, and prints
 * their figures. The lab benchmarks (observe, lab, watch, artifacts, sweep) need root and network
 * namespaces; they run with `npm run bench -- --lab`. The fault drill (drill.ts, a whole cluster
 * under faults for --minutes) runs only by itself: `npm run bench -- drill --minutes 10`. A benchmark
 * that fails is named and the rest still run.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";

const BASE = ["decide", "synth", "hostkeys", "kube", "state", "cli"];
const LAB = ["observe", "lab", "watch", "artifacts", "sweep"];

// The fault drill runs a whole cluster for --minutes (default 10): only when named, and then alone.
const DRILL = process.argv.includes("drill") || process.argv.includes("--drill");
const names = DRILL ? ["drill"] : [...BASE, ...(process.argv.includes("--lab") ? LAB : [])];
const passOn = (name: string) =>
  name !== "drill"
    ? []
    : ["--minutes", "--seed"].flatMap((f) => {
        const i = process.argv.indexOf(f);
        return i > 0 ? [f, process.argv[i + 1]!] : [];
      });
const failed: string[] = [];
for (const name of names) {
  console.log(`\n== bench/${name}.ts`);
  const r = spawnSync(process.execPath, ["--import", "tsx", join(import.meta.dirname, `${name}.ts`), ...passOn(name)], {
    stdio: "inherit",
  });
  if (r.status !== 0) failed.push(`${name} (exit ${r.status ?? r.signal})`);
}
if (!process.argv.includes("--lab") && !DRILL)
  console.log(
    `\n(lab benchmarks ${LAB.join(", ")}: npm run bench -- --lab, as root; the fault drill: npm run bench -- drill [--minutes 10])`,
  );
if (failed.length > 0) {
  console.error(`failed: ${failed.join(", ")}`);
  process.exit(1);
}
