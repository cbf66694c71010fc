/**
 * Wiring of the CDKTF app: one ClusterStack per inventory file that has an `openstack` section.
 * Kept apart from main.ts so tests and benchmarks can build the app in-process.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { App } from "cdktf";
import { DEFAULT_INVENTORY_DIR, loadInventory } from "../src/inventory/load.js";
import type { Problem } from "../src/inventory/problem.js";
import type { HostKey } from "../src/pki/host-keys.js";
import { ClusterStack } from "./cluster-stack.js";
import { InventoryInvalidError, SchemaMismatchError } from "./errors.js";
import { publicHostKeys, stackHostKeys, writeHostKeyVars, type HostKeySource } from "./host-keys.js";
import { checkStack, loadProviderSchema } from "./schema-check.js";
import { withoutCreationStacks } from "./quiet-stacks.js";

/** Options of {@link buildApp}. */
export interface BuildAppOptions extends HostKeySource {
  /** Directory of inventory files. @default the project's inventory/ */
  readonly inventoryDir?: string;
  /** Where `synth` writes. @default "cdktf.out" (or what the CLI passes in CDKTF_OUTDIR) */
  readonly outdir?: string;
}

/** Builds the app; throws InventoryInvalidError listing every problem of every inventory. */
export function buildApp(opts: BuildAppOptions = {}): { app: App; stacks: string[] } {
  const { app, stacks } = withoutCreationStacks(() => build(opts));
  return { app, stacks: stacks.map((s) => s.env) };
}

/**
 * Builds and synthesizes the app (what `cdktf synth` runs), writes each stack's host-key variable
 * file beside it, then checks every stack against the provider schema so a mistake fails here,
 * not at `terraform plan`. Returns the stack names.
 */
export function synthApp(opts: BuildAppOptions = {}): string[] {
  const { app, stacks } = withoutCreationStacks(() => {
    const built = build(opts);
    built.app.synth();
    return built;
  });
  const schema = loadProviderSchema();
  for (const { env, keys } of stacks) {
    const dir = join(app.outdir, "stacks", env);
    writeHostKeyVars(dir, keys);
    const json: unknown = JSON.parse(readFileSync(join(dir, "cdk.tf.json"), "utf8"));
    const findings = checkStack(json, schema);
    if (findings.length > 0) throw new SchemaMismatchError(env, findings);
  }
  return stacks.map((s) => s.env);
}

function build(opts: BuildAppOptions): { app: App; stacks: { env: string; keys: Map<string, HostKey> }[] } {
  const dir = opts.inventoryDir ?? DEFAULT_INVENTORY_DIR;
  const app = new App(opts.outdir === undefined ? {} : { outdir: opts.outdir });
  const files = readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort();
  const problems: Problem[] = [];
  const stacks: { env: string; keys: Map<string, HostKey> }[] = [];
  for (const f of files) {
    const res = loadInventory(join(dir, f));
    if (!res.ok) {
      problems.push(...res.problems);
      continue;
    }
    if (!res.inventory.openstack) continue; // a lab environment: nothing to create
    const keys = stackHostKeys(res.env, res.inventory, opts);
    new ClusterStack(app, res.env, { env: res.env, inventory: res.inventory, hostKeys: publicHostKeys(keys) });
    stacks.push({ env: res.env, keys });
  }
  if (problems.length > 0) throw new InventoryInvalidError(problems);
  return { app, stacks };
}
