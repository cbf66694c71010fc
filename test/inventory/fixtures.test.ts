import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { loadInventory, parseInventory } from "../../src/inventory/load.js";
import { formatProblem } from "../../src/inventory/problem.js";
import { expandNodes } from "../../src/cluster/spec.js";
import { inventorySchema } from "../../src/inventory/schema.js";
import { z } from "zod";

const FIXTURES = resolve(import.meta.dirname, "../fixtures/inventory");
const files = readdirSync(FIXTURES).sort();
const invalid = files.filter((f) => f.startsWith("invalid-"));
const valid = files.filter((f) => f.startsWith("valid-"));

/** Reads `# expect: <line> <substring>` from a fixture's header. */
function expectation(text: string): { line: number; substring: string } {
  const m = /^# expect: (\d+) (.+)$/m.exec(text);
  if (!m) throw new Error("fixture has no '# expect: <line> <substring>' header");
  return { line: Number(m[1]), substring: m[2]! };
}

describe("inventory fixtures", () => {
  it("has at least 30 invalid and 3 valid fixtures", () => {
    expect(invalid.length).toBeGreaterThanOrEqual(30);
    expect(valid.length).toBeGreaterThanOrEqual(3);
  });

  it.each(invalid)("%s fails with exactly one problem at the expected line", (f) => {
    const file = join(FIXTURES, f);
    const text = readFileSync(file, "utf8");
    const want = expectation(text);
    const res = parseInventory(text, file);
    expect(res.ok).toBe(false);
    if (res.ok) return;
    const shown = res.problems.map(formatProblem).join("\n");
    // One fixture, one rule: a second problem means the fixture tests more than it says.
    expect(res.problems, shown).toHaveLength(1);
    const p = res.problems[0]!;
    expect(p.line, shown).toBe(want.line);
    expect(p.message, shown).toContain(want.substring);
    expect(p.column).toBeGreaterThanOrEqual(1);
    expect(p.file).toBe(file);
  });

  it.each(valid)("%s is valid", (f) => {
    const res = loadInventory(join(FIXTURES, f));
    expect(res.ok, res.ok ? "" : res.problems.map(formatProblem).join("\n")).toBe(true);
  });

  it.each(["lab", "example"])("the shipped inventory %s is valid", (env) => {
    const res = loadInventory(env);
    expect(res.ok, res.ok ? "" : res.problems.map(formatProblem).join("\n")).toBe(true);
  });
});

/** Dotted paths of every leaf field of a zod schema (arrays as `[]`). */
function schemaFields(t: z.ZodTypeAny, path = ""): string[] {
  let s = t;
  while (s instanceof z.ZodOptional || s instanceof z.ZodDefault) s = s._def.innerType as z.ZodTypeAny;
  if (s instanceof z.ZodArray) return schemaFields(s.element as z.ZodTypeAny, `${path}[]`);
  if (s instanceof z.ZodObject) {
    return Object.entries(s.shape as Record<string, z.ZodTypeAny>).flatMap(([k, v]) =>
      schemaFields(v, path ? `${path}.${k}` : k),
    );
  }
  return [path];
}

describe("inventory/README.md", () => {
  it("documents every field of the schema", () => {
    const readme = readFileSync(resolve(import.meta.dirname, "../../inventory/README.md"), "utf8").replace(
      /```[\s\S]*?```/g,
      "",
    );
    const code = [...readme.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
    const fields = schemaFields(inventorySchema);
    expect(fields.length).toBeGreaterThan(90);
    const missing = fields.filter((f) => {
      const last = f.split(".").pop()!.replace("[]", "");
      return !code.some((c) => new RegExp(`(^|[.{ ,/])${last}\\b`).test(c));
    });
    expect(missing).toEqual([]);
  });

  it("its short complete example is valid and yields the nodes it describes", () => {
    const readme = readFileSync(resolve(import.meta.dirname, "../../inventory/README.md"), "utf8");
    const m = /## A short complete example\n\n```yaml\n([\s\S]*?)```/.exec(readme);
    expect(m, "README lost its example").not.toBeNull();
    const res = parseInventory(m![1]!, "readme.yaml");
    expect(res.ok, res.ok ? "" : res.problems.map(formatProblem).join("\n")).toBe(true);
    if (!res.ok) return;
    expect(expandNodes(res.inventory).map((n) => `${n.name} ${n.address} ${n.zone ?? "-"}`)).toEqual([
      "cp-1 192.168.20.10 -",
      "cp-2 192.168.20.11 -",
      "cp-3 192.168.20.12 -",
      "general-1 192.168.20.50 az1",
      "general-2 192.168.20.51 az2",
    ]);
  });
});

describe("all problems at once", () => {
  it("reports every schema problem of a file together", () => {
    const text = [
      "cluster:",
      "  name: a",
      "  kubernetesVersion: 1.33", // a number, not a string
      "  colour: blue", // unknown field
      "lab: {}",
      "staticNodes:",
      "  - { name: n1, address: 10.77.0.11, role: boss }", // bad enum
      "reconciler: { watchInterval: soon }", // bad duration
    ].join("\n");
    const res = parseInventory(text, "many.yaml");
    expect(res.ok).toBe(false);
    if (res.ok) return;
    expect(res.problems.map((p) => [p.line, p.path])).toEqual([
      [3, "cluster.kubernetesVersion"],
      [4, "cluster.colour"],
      [7, "staticNodes[0].role"],
      [8, "reconciler.watchInterval"],
    ]);
    // The unquoted version gets advice, not just a type name.
    expect(res.problems[0]!.message).toMatch(/quote it/);
  });

  it("reports every rule problem of a file together", () => {
    const text = [
      "cluster:",
      "  name: Bad_Name",
      '  kubernetesVersion: "1.99.0"',
      "  podCIDR: 10.244.0.1/16",
      "lab: {}",
      "staticNodes:",
      "  - { name: n1, address: 10.77.0.11, role: control-plane }",
      "  - { name: n2, address: 10.77.0.11, role: control-plane }",
      "reconciler: { watchInterval: 1s }",
    ].join("\n");
    const res = parseInventory(text, "many.yaml");
    expect(res.ok).toBe(false);
    if (res.ok) return;
    // name, version, podCIDR, two control-plane nodes, duplicate address, watch interval; in file order.
    expect(res.problems.map((p) => p.line)).toEqual([2, 3, 4, 7, 8, 9]);
  });
});
