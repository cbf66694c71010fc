/**
 * Checks a synthesized stack (cdk.tf.json) against the OpenStack provider's schema, the interface
 * `terraform providers schema -json` describes: unknown types and attributes, missing required
 * attributes, wrong value types, wrong block nesting or count, computed-only attributes we set, and
 * provider aliases that are not declared.
 * Catches at synth time what `terraform validate` would, without downloading the provider.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** Terraform type expression as the schema JSON writes it. */
export type SchemaType = string | [string, ...unknown[]];

/** An attribute of a block schema. */
export interface SchemaAttribute {
  readonly type?: SchemaType;
  readonly required?: boolean;
  readonly optional?: boolean;
  readonly computed?: boolean;
}

/** A block schema: attributes and nested blocks. */
export interface SchemaBlock {
  readonly attributes?: Record<string, SchemaAttribute>;
  readonly block_types?: Record<
    string,
    { nesting_mode: string; min_items?: number; max_items?: number; block: SchemaBlock }
  >;
}

/** The parts of a provider schema the check reads. */
export interface ProviderSchema {
  readonly provider: { block: SchemaBlock };
  readonly resource_schemas: Record<string, { block: SchemaBlock }>;
  readonly data_source_schemas: Record<string, { block: SchemaBlock }>;
}

/** What kind of mismatch a finding is. */
export type FindingKind =
  | "unknown-type"
  | "unknown-attribute"
  | "missing-required"
  | "wrong-type"
  | "wrong-nesting"
  | "wrong-count"
  | "computed-only"
  | "unknown-provider";

/** One mismatch between the stack and the schema. */
export interface SchemaFinding {
  readonly kind: FindingKind;
  /** Terraform address plus attribute path, e.g. `openstack_lb_member_v2.api_member.address`. */
  readonly at: string;
  /** The construct path that built it, when cdktf recorded one. */
  readonly construct?: string;
  readonly message: string;
}

/** The provider schema shipped with the project (terraform-provider-openstack 3.4.0). */
export const PROVIDER_SCHEMA_FILE = join(dirname(fileURLToPath(import.meta.url)), "openstack/provider-schema.json");

/** Loads the OpenStack provider's schema from `terraform providers schema -json` output. */
export function loadProviderSchema(file = PROVIDER_SCHEMA_FILE): ProviderSchema {
  const json = JSON.parse(readFileSync(file, "utf8")) as { provider_schemas: Record<string, ProviderSchema> };
  const entry = Object.entries(json.provider_schemas).find(([addr]) => addr.endsWith("/openstack"));
  if (!entry) throw new Error(`${file}: no openstack provider in provider_schemas`);
  return entry[1];
}

// Terraform's built-in resources (terraform.io/builtin/terraform), which no provider schema lists.
const BUILTIN_RESOURCES: Record<string, SchemaBlock> = {
  terraform_data: {
    attributes: {
      id: { type: "string", computed: true },
      input: { type: "dynamic", optional: true },
      output: { type: "dynamic", computed: true },
      triggers_replace: { type: "dynamic", optional: true },
    },
  },
};

const META_ARGUMENTS = new Set([
  "//",
  "depends_on",
  "lifecycle",
  "provider",
  "count",
  "for_each",
  "connection",
  "provisioner",
]);
const PROVIDER_META = new Set(["//", "alias", "version"]);

/** Checks every provider block, resource and data source of a synthesized stack. */
export function checkStack(stack: unknown, schema: ProviderSchema = loadProviderSchema()): SchemaFinding[] {
  const out: SchemaFinding[] = [];
  const doc = (stack ?? {}) as Record<string, Record<string, unknown>>;
  const list = (doc.provider?.openstack ?? []) as unknown[];
  const providers = Array.isArray(list) ? list : [list];
  // What a resource's `provider` meta-argument may name: the default and every alias.
  const declared = new Set(
    providers.map((p) => {
      const alias = (p as { alias?: string }).alias;
      return alias === undefined ? "openstack" : `openstack.${alias}`;
    }),
  );
  providers.forEach((p, i) =>
    checkBlock(
      schema.provider.block,
      p as Record<string, unknown>,
      `provider.openstack[${i}]`,
      PROVIDER_META,
      undefined,
      out,
    ),
  );
  for (const [section, schemas, prefix] of [
    ["resource", schema.resource_schemas, ""],
    ["data", schema.data_source_schemas, "data."],
  ] as const) {
    for (const [type, instances] of Object.entries(doc[section] ?? {})) {
      const block = schemas[type]?.block ?? (section === "resource" ? BUILTIN_RESOURCES[type] : undefined);
      for (const [name, body] of Object.entries(instances as Record<string, Record<string, unknown>>)) {
        const at = `${prefix}${type}.${name}`;
        const construct = (body["//"] as { metadata?: { path?: string } } | undefined)?.metadata?.path;
        if (!block) {
          out.push({
            kind: "unknown-type",
            at,
            construct,
            message: `the provider has no ${section === "data" ? "data source" : "resource"} type ${type}`,
          });
          continue;
        }
        const provider = body.provider;
        if (typeof provider === "string" && provider.startsWith("openstack") && !declared.has(provider)) {
          out.push({
            kind: "unknown-provider",
            at: `${at}.provider`,
            construct,
            message: `no provider ${provider} is declared`,
          });
        }
        checkBlock(block, body, at, META_ARGUMENTS, construct, out);
      }
    }
  }
  return out;
}

function checkBlock(
  block: SchemaBlock,
  body: Record<string, unknown>,
  at: string,
  skip: ReadonlySet<string>,
  construct: string | undefined,
  out: SchemaFinding[],
): void {
  const attrs = block.attributes ?? {};
  const blocks = block.block_types ?? {};
  const add = (kind: FindingKind, where: string, message: string) => out.push({ kind, at: where, construct, message });
  for (const [key, value] of Object.entries(body)) {
    if (skip.has(key) || value === null || value === undefined) continue;
    const where = `${at}.${key}`;
    const attr = attrs[key];
    if (attr) {
      if (attr.computed && !attr.optional && !attr.required)
        add("computed-only", where, `${key} is computed by the provider and cannot be set`);
      else if (attr.type !== undefined) {
        const err = typeError(attr.type, value);
        if (err) add("wrong-type", where, err);
      }
      continue;
    }
    const nested = blocks[key];
    if (!nested) {
      add("unknown-attribute", where, `no attribute or block named ${key}`);
      continue;
    }
    if (isRef(value)) continue;
    let items: unknown[];
    if (nested.nesting_mode === "single" || nested.nesting_mode === "group") {
      if (Array.isArray(value) || typeof value !== "object") {
        add("wrong-nesting", where, `${key} is a single block: write an object, not ${describe(value)}`);
        continue;
      }
      items = [value];
    } else if (Array.isArray(value)) {
      items = value;
    } else if (typeof value === "object") {
      items = [value]; // Terraform's JSON syntax accepts one object for a list of one.
    } else {
      add(
        "wrong-nesting",
        where,
        `${key} is a ${nested.nesting_mode} block: write a list of objects, not ${describe(value)}`,
      );
      continue;
    }
    if (nested.min_items && items.length < nested.min_items)
      add("wrong-count", where, `${key} needs at least ${nested.min_items} block(s), got ${items.length}`);
    if (nested.max_items && items.length > nested.max_items)
      add("wrong-count", where, `${key} allows at most ${nested.max_items} block(s), got ${items.length}`);
    items.forEach((item, i) => {
      if (isRef(item)) return;
      if (item === null || typeof item !== "object" || Array.isArray(item)) {
        add("wrong-nesting", `${where}[${i}]`, `each ${key} block must be an object, got ${describe(item)}`);
        return;
      }
      checkBlock(nested.block, item as Record<string, unknown>, `${where}[${i}]`, new Set(["dynamic"]), construct, out);
    });
  }
  for (const [key, attr] of Object.entries(attrs)) {
    if (attr.required && (body[key] === undefined || body[key] === null))
      add("missing-required", `${at}.${key}`, `required attribute ${key} is not set`);
  }
  for (const [key, nested] of Object.entries(blocks)) {
    if (nested.min_items && body[key] === undefined)
      add("wrong-count", `${at}.${key}`, `${key} needs at least ${nested.min_items} block(s), got none`);
  }
}

// A Terraform expression stands for a value of any type; its type is Terraform's to check.
function isRef(v: unknown): boolean {
  return typeof v === "string" && v.includes("${");
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return "a list";
  if (v === null) return "null";
  return typeof v === "object" ? "an object" : `${typeof v} ${JSON.stringify(v)}`;
}

/** Why `value` does not fit `type`, or undefined when it does. */
export function typeError(type: SchemaType, value: unknown): string | undefined {
  if (isRef(value) || value === null) return undefined;
  if (typeof type === "string") {
    switch (type) {
      case "dynamic":
        return undefined;
      case "string":
        return typeof value === "string" ? undefined : `expected a string, got ${describe(value)}`;
      case "number":
        return typeof value === "number" ? undefined : `expected a number, got ${describe(value)}`;
      case "bool":
        return typeof value === "boolean" ? undefined : `expected a bool, got ${describe(value)}`;
      default:
        return undefined;
    }
  }
  const [kind, inner] = type as [string, unknown];
  switch (kind) {
    case "list":
    case "set": {
      if (!Array.isArray(value)) return `expected a ${kind}, got ${describe(value)}`;
      for (const [i, v] of value.entries()) {
        const e = typeError(inner as SchemaType, v);
        if (e) return `[${i}]: ${e}`;
      }
      return undefined;
    }
    case "map": {
      if (typeof value !== "object" || Array.isArray(value)) return `expected a map, got ${describe(value)}`;
      for (const [k, v] of Object.entries(value as object)) {
        const e = typeError(inner as SchemaType, v);
        if (e) return `[${JSON.stringify(k)}]: ${e}`;
      }
      return undefined;
    }
    case "object": {
      if (typeof value !== "object" || Array.isArray(value)) return `expected an object, got ${describe(value)}`;
      const fields = inner as Record<string, SchemaType>;
      for (const [k, v] of Object.entries(value as object)) {
        const t = fields[k];
        if (t === undefined) return `unknown object attribute ${k}`;
        const e = typeError(t, v);
        if (e) return `.${k}: ${e}`;
      }
      return undefined;
    }
    case "tuple": {
      const types = inner as SchemaType[];
      if (!Array.isArray(value) || value.length !== types.length)
        return `expected a tuple of ${types.length}, got ${describe(value)}`;
      for (const [i, t] of types.entries()) {
        const e = typeError(t, value[i]);
        if (e) return `[${i}]: ${e}`;
      }
      return undefined;
    }
    default:
      return undefined;
  }
}

/** Renders findings one per line for an error message or a test failure. */
export function formatFindings(findings: readonly SchemaFinding[]): string {
  return findings.map((f) => `${f.kind}: ${f.at}${f.construct ? ` (${f.construct})` : ""}: ${f.message}`).join("\n");
}
