/**
 * `npm run bench`: runs the benchmarks one after another, each in its own process, and prints
 * their figures. The lab benchmarks (observe, lab, watch, artifacts) need root and network
 * namespaces; they run with `npm run bench -- --lab`. A benchmark that fails is named and the rest
 * still run.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";

const BASE = ["decide", "synth", "hostkeys", "kube", "state"];
const LAB = ["observe", "lab", "watch", "artifacts"];

const names = [...BASE, ...(process.argv.includes("--lab") ? LAB : [])];
const failed: string[] = [];
for (const name of names) {
  console.log(`\n== bench/${name}.ts`);
  const r = spawnSync(process.execPath, ["--import", "tsx", join(import.meta.dirname, `${name}.ts`)], {
    stdio: "inherit",
  });
  if (r.status !== 0) failed.push(`${name} (exit ${r.status ?? r.signal})`);
}
if (!process.argv.includes("--lab"))
  console.log(`\n(lab benchmarks ${LAB.join(", ")}: npm run bench -- --lab, as root)`);
if (failed.length > 0) {
  console.error(`failed: ${failed.join(", ")}`);
  process.exit(1);
}
