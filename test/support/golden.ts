/** Golden-file assertions for generated output that a person reviews (units, rendered configs). */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";

/**
 * Compares `text` with `<dir>/<name>`. Set UPDATE_GOLDEN=1 to rewrite the files after a change,
 * then review the diff before committing.
 */
export function matchGolden(dir: string, name: string, text: string): void {
  const p = join(dir, name);
  if (process.env.UPDATE_GOLDEN) writeFileSync(p, text);
  expect(existsSync(p), `${p} missing: run with UPDATE_GOLDEN=1 and review it`).toBe(true);
  expect(text).toBe(readFileSync(p, "utf8"));
}
