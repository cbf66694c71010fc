/**
 * parse → normalise (defaults) → validate. Every problem carries file, line and column; all
 * problems are returned at once and no input makes this throw.
 */
import { readFileSync, existsSync } from "node:fs";
import { basename, dirname, isAbsolute, join, resolve } from "node:path";
import { LineCounter, parseDocument, isCollection, isMap, isNode, isScalar, type Document } from "yaml";
import { artifactSource, inventorySchema, type Inventory } from "./schema.js";
import { formatPath, type Problem } from "./problem.js";
import { runRules } from "./rules/index.js";

/** The result of loading an inventory: either the normalised inventory or every problem. */
export type LoadResult =
  | { ok: true; inventory: Inventory; file: string; env: string; locate: Locator }
  | { ok: false; problems: Problem[]; file: string; env: string };

/** Maps a document path to a 1-based line and column. */
export type Locator = (path: readonly (string | number)[]) => { line: number; column: number };

/** Directory holding the environments shipped with the project. */
export const DEFAULT_INVENTORY_DIR = resolve(dirname(new URL(import.meta.url).pathname), "../../inventory");

/**
 * Resolves ENV as the user typed it: a path to a YAML file, or a name under the inventory directory.
 */
export function resolveInventoryPath(env: string, inventoryDir = DEFAULT_INVENTORY_DIR): string {
  if (env.endsWith(".yaml") || env.endsWith(".yml") || env.includes("/")) {
    return isAbsolute(env) ? env : resolve(env);
  }
  return join(inventoryDir, `${env}.yaml`);
}

/** The environment name: the file's base name without extension. */
export function envName(file: string): string {
  return basename(file).replace(/\.ya?ml$/, "");
}

/** Reads and validates an inventory file. */
export function loadInventory(env: string, inventoryDir?: string): LoadResult {
  const file = resolveInventoryPath(env, inventoryDir);
  const name = envName(file);
  if (!existsSync(file)) {
    return {
      ok: false,
      file,
      env: name,
      problems: [
        {
          file,
          line: 1,
          column: 1,
          path: "",
          message: `no such inventory file; create it or name one of the files in ${inventoryDir ?? DEFAULT_INVENTORY_DIR}`,
        },
      ],
    };
  }
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    return {
      ok: false,
      file,
      env: name,
      problems: [{ file, line: 1, column: 1, path: "", message: `cannot read file: ${(err as Error).message}` }],
    };
  }
  return parseInventory(text, file);
}

/** Most aliases a document may expand; beyond it the file is an alias bomb, not an inventory. */
const MAX_ALIAS_COUNT = 50;

/** Validates inventory text; `file` is only used in messages and for the environment name. Never throws. */
export function parseInventory(text: string, file: string): LoadResult {
  const env = envName(file);
  const fail = (line: number, column: number, message: string): LoadResult => ({
    ok: false,
    file,
    env,
    problems: [{ file, line, column, path: "", message }],
  });
  const lineCounter = new LineCounter();
  let doc: Document;
  let raw: unknown;
  try {
    // resolveKnownTags: false keeps !!binary, !!set, !!timestamp … as plain strings, which the
    // schema then reports, instead of turning them into Buffers, Sets and Dates.
    doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, resolveKnownTags: false });
  } catch (err) {
    return fail(1, 1, `cannot read the document: ${describeYamlError(err)}`);
  }
  const problems: Problem[] = [];
  for (const err of doc.errors) {
    const pos = lineCounter.linePos(err.pos[0]);
    problems.push({
      file,
      line: Math.max(1, pos.line),
      column: Math.max(1, pos.col),
      path: "",
      message: `YAML syntax: ${describeYamlError(err)}`,
    });
  }
  if (problems.length > 0) return { ok: false, problems, file, env };

  const locate = makeLocator(doc, lineCounter);
  try {
    raw = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    return fail(1, 1, `cannot read the document: ${describeYamlError(err)}`);
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    return fail(1, 1, "the inventory must be a YAML mapping (key: value)");
  }
  const parsed = inventorySchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      // An unknown key is best pointed at itself, not at the mapping holding it.
      const at = issue.code === "unrecognized_keys" ? [...issue.path, issue.keys[0] ?? ""] : issue.path;
      problems.push({ file, ...locate(at), path: formatPath(at), message: describeIssue(issue) });
    }
    return { ok: false, problems: byPosition(problems), file, env };
  }
  // The source the section implies is written in, so every reader and `inventory show` see one answer.
  const a = parsed.data.artifacts;
  const inventory = {
    ...parsed.data,
    artifacts: { ...a, source: artifactSource(a, parsed.data.cluster.kubernetesVersion) },
  };
  for (const f of runRules(inventory)) {
    problems.push({ file, ...locate(f.path), path: formatPath(f.path), message: f.message });
  }
  if (problems.length > 0) return { ok: false, problems: byPosition(problems), file, env };
  return { ok: true, inventory, file, env, locate };
}

/** Problems in file order, so a reader can work down the file; ties keep the rules' order. */
function byPosition(problems: Problem[]): Problem[] {
  return problems
    .map((p, i) => ({ p, i }))
    .sort((a, b) => a.p.line - b.p.line || a.p.column - b.p.column || a.i - b.i)
    .map((x) => x.p);
}

/** One line that explains a YAML error, with advice for the two resource limits. */
function describeYamlError(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  if (/call stack/i.test(msg))
    return "the document is nested too deeply to read; an inventory is only a few levels deep";
  if (/alias count/i.test(msg))
    return `the document expands more than ${MAX_ALIAS_COUNT} aliases (*name), which looks like an alias bomb; write the values out or use fewer aliases`;
  if (/keys must be unique/i.test(msg))
    return "a key appears twice in the same mapping: keep one (many YAML readers would silently use only the last)";
  if (/multiple documents/i.test(msg))
    return "the file holds more than one YAML document (a second ---); an inventory is one document: remove the extra --- and what follows, or merge it";
  return msg.split("\n")[0] ?? msg;
}

function makeLocator(doc: Document, lc: LineCounter): Locator {
  return (path) => {
    // Walk down as far as the document goes: a missing key points at its parent.
    for (let n = path.length; n >= 0; n--) {
      const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
      if (isNode(node) && node.range) {
        // A block mapping or list starts on the line after its key; the key is where people look.
        const start = (isCollection(node) ? keyStart(doc, path.slice(0, n)) : undefined) ?? node.range[0];
        const pos = lc.linePos(start);
        return { line: pos.line, column: pos.col };
      }
    }
    return { line: 1, column: 1 };
  };
}

/** Offset of the key that holds `path`'s value, when its parent is a mapping. */
function keyStart(doc: Document, path: readonly (string | number)[]): number | undefined {
  if (path.length === 0) return undefined;
  const parent = path.length === 1 ? doc.contents : doc.getIn(path.slice(0, -1), true);
  if (!isMap(parent)) return undefined;
  const last = String(path[path.length - 1]);
  const pair = parent.items.find((p) => (isScalar(p.key) ? String(p.key.value) === last : String(p.key) === last));
  return isNode(pair?.key) ? pair.key.range?.[0] : undefined;
}

/** Turns a zod issue into a sentence that says what to write instead. */
function describeIssue(issue: import("zod").ZodIssue): string {
  switch (issue.code) {
    case "unrecognized_keys": {
      const shown = issue.keys.slice(0, 5).map((k) => JSON.stringify(k));
      const more = issue.keys.length > 5 ? ` and ${issue.keys.length - 5} more` : "";
      const s = issue.keys.length > 1 ? "s" : "";
      return `unknown field${s} ${shown.join(", ")}${more}: remove it or check its spelling against inventory/README.md`;
    }
    case "invalid_type":
      if (issue.received === "undefined") return `required field is missing: add it (expected ${issue.expected})`;
      return `expected ${issue.expected}, got ${issue.received}${typeHint(issue.expected, issue.received)}`;
    case "invalid_enum_value":
      return `must be one of ${issue.options.map((o) => JSON.stringify(o)).join(", ")}, got ${JSON.stringify(issue.received)}`;
    case "too_small":
      return issue.type === "array"
        ? `needs at least ${issue.minimum} entries`
        : `must be ${issue.inclusive ? "at least" : "more than"} ${issue.minimum}`;
    case "too_big":
      return issue.type === "array"
        ? `may have at most ${issue.maximum} entries`
        : `must be ${issue.inclusive ? "at most" : "less than"} ${issue.maximum}`;
    default:
      return issue.message;
  }
}

/** Advice for the type mistakes YAML makes easy: quoted numbers, unquoted versions, scalars for lists. */
function typeHint(expected: string, received: string): string {
  if ((expected === "number" || expected === "integer") && received === "string")
    return ": write the number without quotes";
  if (expected === "integer" && received === "float") return ": write a whole number";
  if (expected === "string" && (received === "number" || received === "boolean")) {
    return ': quote it ("…") so YAML keeps it as text (1.30 would otherwise become 1.3, yes/no become booleans)';
  }
  if (expected === "boolean") return ": write true or false, without quotes";
  if (expected === "array") return ": write a list, e.g. [a, b] or one '- item' per line";
  if (expected === "object") return ": write a mapping of 'key: value' lines";
  return "";
}
