/**
 * Issued SSH host keys: issuing them for 100 and 1000 nodes (what the first synth of a new stack or
 * `lab up` pays, one fsync per key), reading them back (every later synth), and reading the public
 * halves (every reconcile pass). Prints figures; asserts nothing. Run: npx tsx bench/hostkeys.ts
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { ensureHostKeys, issuedHostKeys } from "../src/pki/host-keys.js";

const ms = (f: () => void): number => {
  const t = performance.now();
  f();
  return performance.now() - t;
};

console.log("nodes  issue(ms)  re-read(ms)  public halves(ms)");
for (const n of [100, 1000]) {
  const dir = mkdtempSync(join(tmpdir(), "yagura-bench-hostkeys-"));
  try {
    const names = Array.from({ length: n }, (_, i) => `node-${i}`);
    const issue = ms(() => ensureHostKeys(dir, names));
    const reread = ms(() => ensureHostKeys(dir, names));
    const pub = ms(() => issuedHostKeys(dir, names));
    console.log(
      `${String(n).padStart(5)}  ${issue.toFixed(0).padStart(9)}  ${reread.toFixed(0).padStart(11)}  ${pub.toFixed(0).padStart(17)}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
