/**
 * Property tests: no input makes parseInventory throw, every failure carries a usable location, and
 * whatever validation accepts expands into a cluster the reconciler can trust.
 */
import fc from "fast-check";
import { stringify } from "yaml";
import { describe, expect, it } from "vitest";
import { parseInventory, type LoadResult } from "../../src/inventory/load.js";
import { CONTROL_PLANE_ROLE, expandNodes } from "../../src/cluster/spec.js";
import { plannedNodes } from "../../src/inventory/rules/model.js";
import { DNS1123_LABEL } from "../../src/inventory/rules/syntax.js";
import { BOMB, DOCS, LEAVES, SEEDS, inventory, mutation, replacement, setIn, validLab } from "./fuzz-inputs.js";

/** Runs per property; YAGURA_FUZZ_SCALE=10 runs ten times as many for a deeper local search. */
const SCALE = Number(process.env.YAGURA_FUZZ_SCALE ?? "1") || 1;
const RUNS = { arbitrary: 600 * SCALE, valid: 200 * SCALE, mutation: 1000 * SCALE, retype: 600 * SCALE };
/** Generous: the runs are sized for seconds, but a loaded CI machine must not fail them on time. */
const TIMEOUT = 300_000;

/** What every result must satisfy, valid or not. */
function checkResult(res: LoadResult): void {
  if (!res.ok) {
    expect(res.problems.length).toBeGreaterThanOrEqual(1);
    for (const p of res.problems) {
      expect(Number.isInteger(p.line) && p.line >= 1, `line ${p.line}`).toBe(true);
      expect(Number.isInteger(p.column) && p.column >= 1, `column ${p.column}`).toBe(true);
      expect(p.message.length).toBeGreaterThan(0);
      expect(p.message).not.toMatch(/internal error/);
    }
    return;
  }
  // Accepted inventories: expansion works and yields what the reconciler relies on.
  const nodes = expandNodes(res.inventory);
  const names = nodes.map((n) => n.name);
  expect(new Set(names).size).toBe(names.length);
  expect(new Set(nodes.map((n) => n.address)).size).toBe(nodes.length);
  for (const n of names) expect(n).toMatch(DNS1123_LABEL);
  expect([1, 3, 5, 7]).toContain(nodes.filter((n) => n.role === "control-plane").length);
  // The role defaults never give a node two taints of one key and effect, which the API refuses.
  for (const n of nodes) {
    expect(new Set(n.taints.map((t) => `${t.key}:${t.effect}`)).size, n.name).toBe(n.taints.length);
    if (n.role === "control-plane") expect(n.labels, n.name).toHaveProperty([CONTROL_PLANE_ROLE]);
  }
  // The rules' defensive expansion must agree with the real one.
  expect(plannedNodes(res.inventory).map((n) => [n.name, n.address])).toEqual(nodes.map((n) => [n.name, n.address]));
}

describe("parseInventory under fuzzing", () => {
  it(
    `never throws on ${RUNS.arbitrary} arbitrary inventories and locates every problem`,
    () => {
      let ok = 0;
      fc.assert(
        fc.property(inventory, (inv) => {
          const res = parseInventory(stringify(inv), "fuzz.yaml");
          checkResult(res);
          if (res.ok) ok++;
        }),
        { numRuns: RUNS.arbitrary },
      );
      console.log(`fuzz: ${RUNS.arbitrary} arbitrary inventories, ${ok} accepted`);
    },
    TIMEOUT,
  );

  it(
    `accepts ${RUNS.valid} inventories that are valid by construction`,
    () => {
      fc.assert(
        fc.property(validLab, (inv) => {
          const res = parseInventory(stringify(inv), "valid.yaml");
          expect(res.ok, res.ok ? "" : res.problems.map((p) => p.message).join("\n")).toBe(true);
          checkResult(res);
        }),
        { numRuns: RUNS.valid },
      );
    },
    TIMEOUT,
  );

  it(
    `never throws on ${RUNS.mutation} mutations of the shipped inventories' text`,
    () => {
      let ok = 0;
      fc.assert(
        fc.property(fc.constantFrom(...SEEDS), fc.array(mutation, { minLength: 1, maxLength: 4 }), (seed, muts) => {
          const text = muts.reduce((lines, m) => m(lines), seed.split("\n")).join("\n");
          const res = parseInventory(text, "mutated.yaml");
          checkResult(res);
          if (res.ok) ok++;
        }),
        { numRuns: RUNS.mutation },
      );
      console.log(`fuzz: ${RUNS.mutation} mutated inventories, ${ok} still valid`);
    },
    TIMEOUT,
  );
});

describe("parseInventory under fuzzing (wrong types)", () => {
  it(
    `never throws when up to three values of the shipped inventories are replaced by arbitrary ones, ${RUNS.retype} times`,
    () => {
      fc.assert(
        fc.property(
          fc.nat(DOCS.length - 1),
          fc.nat(),
          fc.array(replacement, { minLength: 1, maxLength: 3 }),
          (d, at, values) => {
            let doc: unknown = DOCS[d];
            values.forEach((v, k) => {
              const leaves = LEAVES[d]!;
              doc = setIn(doc, leaves[(at + k * 7) % leaves.length]!, v);
            });
            checkResult(parseInventory(stringify(doc), "retyped.yaml"));
          },
        ),
        { numRuns: RUNS.retype },
      );
    },
    TIMEOUT,
  );
});

describe("parseInventory on resource-exhaustion inputs", () => {
  const lab = SEEDS[1]!;
  it.each([
    [
      "flow nesting deeper than the parser's stack",
      `${lab}\ndeep: ${"[".repeat(20_000)}${"]".repeat(20_000)}`,
      /nested too deeply/,
    ],
    [
      "block nesting deeper than the parser's stack",
      `${lab}\n${Array.from({ length: 1500 }, (_, i) => `${" ".repeat(i)}k${i}:`).join("\n")}`,
      /nested too deeply/,
    ],
    ["a billion-laughs alias bomb", `${BOMB.join("\n")}\n${lab}`, /alias bomb/],
    ["an alias to an anchor that does not exist", `${lab}\nssh: *nowhere\n`, /alias/i],
    ["a second document", `${lab}\n---\n${lab}`, /more than one YAML document/],
    [
      "a number too large for a count",
      lab.replace("maxConcurrentUpdates: 2", "maxConcurrentUpdates: 1e400"),
      /expected number|integer|Infinity/i,
    ],
  ])("%s is a located problem, not a crash", (_what, text, message) => {
    const res = parseInventory(text, "exhaust.yaml");
    expect(res.ok).toBe(false);
    if (res.ok) return;
    checkResult(res);
    expect(res.problems.map((p) => p.message).join("\n")).toMatch(message);
  });
});
