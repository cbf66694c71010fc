/** Stack frames of a built file mapped to its source lines when printed, through the map beside it. */
import { buildSync } from "esbuild";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { mapStack } from "../../src/cli/source-stack.js";

const dir = mkdtempSync(join(tmpdir(), "yagura-stack-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("mapStack", () => {
  it("names the source line of a built frame; frames without a map stay as they are", () => {
    // line 4 of the source throws; the banner moves it down in the build
    const src = join(dir, "boom.ts");
    writeFileSync(
      src,
      'export const pad: string = "";\n\nexport function boom(): never {\n  throw new Error("boom");\n}\n',
    );
    const out = join(dir, "out", "boom.js");
    buildSync({
      entryPoints: [src],
      outfile: out,
      format: "esm",
      sourcemap: "linked",
      bundle: true,
      banner: { js: "// a\n// b\n// c" },
    });
    // Where the build put the throw (the stack of a real throw is mapped by the test runner already).
    const lines = readFileSync(out, "utf8").split("\n");
    const at = lines.findIndex((l) => l.includes('throw new Error("boom")'));
    const pos = `${at + 1}:${lines[at]!.indexOf("throw") + 1}`;
    expect(at).toBeGreaterThan(3);
    const url = `Error: boom\n    at boom (${pathToFileURL(out).href}:${pos})`;
    expect(mapStack(url)).toBe(`Error: boom\n    at boom (${src}:4:3)`);
    // A path form (no file://), a frame with no map, and node:internal ones: unchanged.
    const plain = `Error: x\n    at f (${out}:${pos})\n    at g (${join(dir, "nomap.js")}:1:1)\n    at node:internal/x:1:1`;
    const got = mapStack(plain).split("\n");
    expect(got[1]).toBe(`    at f (${src}:4:3)`);
    expect(got.slice(2)).toEqual(plain.split("\n").slice(2));
  });
});
