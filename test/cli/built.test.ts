/**
 * The command as users run it: bin/yagura.mjs and the JavaScript build (dist/yagura, from
 * scripts/build.mjs), not the sources through tsx. The other tests run the sources.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");
const BIN = join(ROOT, "bin/yagura.mjs");
const STAMP = join(ROOT, "dist/yagura/build.json");
const out = mkdtempSync(join(tmpdir(), "yagura-built-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

function yagura(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: out, encoding: "utf8", timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

// A first run makes the build if the sources changed since the last one (or there is none).
beforeAll(() => {
  expect(yagura("--version").code).toBe(0);
}, 180_000);

describe("the built CLI (bin/yagura.mjs)", () => {
  it("--version prints the package's version", () => {
    const r = yagura("--version");
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(r.stdout.trim()).toBe(JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version);
    // bin/yagura.mjs answers these without loading the CLI; the CLI itself says the same.
    expect(yagura("-V").stdout).toBe(r.stdout);
    expect(yagura("--version", "--help").stdout).toBe(r.stdout);
  });

  it("loads no package before a command's action runs but commander, yaml and zod (bundled in)", () => {
    const stamp = JSON.parse(readFileSync(STAMP, "utf8")) as { startup: string[]; inputs: Record<string, number> };
    expect(stamp.startup).toEqual([]);
    expect(Object.keys(stamp.inputs)).toContain("node_modules/yaml/package.json");
    expect(Object.keys(stamp.inputs)).toContain("src/cli/main.ts");
    // the heavy libraries are still in the build, in chunks of their own
    expect(readdirSync(join(ROOT, "dist/yagura")).filter((f) => f.endsWith(".js")).length).toBeGreaterThan(3);
  });

  it("validate lab: exit 0 with the summary", () => {
    const r = yagura("validate", "lab");
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(r.stdout).toMatch(/^lab: valid$/m);
  });

  it("render reads templates/ and inventory/ from the build as from the sources", () => {
    // example pins its release (lab's "local" needs YAGURA_KUBE_BIN_DIR)
    const r = yagura("render", "example", "--out", join(out, "rendered"));
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/wrote \d+ cluster objects and \d+ node files/);
    expect(readdirSync(join(out, "rendered/nodes")).length).toBeGreaterThan(0);
    expect(readdirSync(join(out, "rendered/cluster")).length).toBeGreaterThan(0);
  });

  it("a user error: exit 1, what to change, no stack trace", () => {
    const r = yagura("validate", "no-such-env");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: .*no-such-env\.yaml: 1 problem in the inventory$/m);
    expect(r.stderr).toMatch(/no such inventory file; create it or name one of the files in /);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it("usage errors exit 2", () => {
    const r = yagura("validate");
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/missing required argument 'env'/);
  });

  it("an error yagura does not classify exits 70 with a stack trace naming the .ts lines", () => {
    // render cannot create its output below a file: a plain ENOTDIR from node:fs
    const r = yagura("render", "lab", "--out", "/dev/null/rendered");
    expect(r.code).toBe(70);
    expect(r.stderr).toMatch(/^internal error \(a bug in yagura; please report it with this output\): ENOTDIR/m);
    expect(r.stderr).toMatch(/\n\s+at .*src[\\/]cli[\\/]render\.ts:\d+:\d+\)?\n/);
    expect(r.stderr).not.toMatch(/dist[\\/]yagura/);
  });

  it("rebuilds when a source changed since the build, then runs the new build", () => {
    const stamp = JSON.parse(readFileSync(STAMP, "utf8")) as { inputs: Record<string, number> };
    // Pretend src/cli/main.ts changed (its recorded mtime no longer matches) without touching it.
    writeFileSync(STAMP, JSON.stringify({ ...stamp, inputs: { ...stamp.inputs, "src/cli/main.ts": 1 } }));
    const r = yagura("--version");
    expect(r).toMatchObject({ code: 0, stderr: "" });
    const after = JSON.parse(readFileSync(STAMP, "utf8")) as { inputs: Record<string, number> };
    expect(after.inputs["src/cli/main.ts"]).not.toBe(1);
  }, 180_000);
});
