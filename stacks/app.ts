/**
 * Wiring of the CDKTF app: one ClusterStack per inventory file that has an `openstack` section.
 * Kept apart from main.ts so tests and benchmarks can build the app in-process.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { App } from "cdktf";
import { DEFAULT_INVENTORY_DIR, loadInventory } from "../src/inventory/load.js";
import type { Problem } from "../src/inventory/problem.js";
import { ClusterStack } from "./cluster-stack.js";
import { InventoryInvalidError, SchemaMismatchError } from "./errors.js";
import { checkStack, loadProviderSchema } from "./schema-check.js";
import { withoutCreationStacks } from "./quiet-stacks.js";

/** Options of {@link buildApp}. */
export interface BuildAppOptions {
  /** Directory of inventory files. @default the project's inventory/ */
  readonly inventoryDir?: string;
  /** Where `synth` writes. @default "cdktf.out" (or what the CLI passes in CDKTF_OUTDIR) */
  readonly outdir?: string;
}

/** Builds the app; throws InventoryInvalidError listing every problem of every inventory. */
export function buildApp(opts: BuildAppOptions = {}): { app: App; stacks: string[] } {
  return withoutCreationStacks(() => build(opts));
}

/**
 * Builds and synthesizes the app (what `cdktf synth` runs), then checks every stack against the
 * provider schema so a mistake fails here, not at `terraform plan`. Returns the stack names.
 */
export function synthApp(opts: BuildAppOptions = {}): string[] {
  const { app, stacks } = withoutCreationStacks(() => {
    const built = build(opts);
    built.app.synth();
    return built;
  });
  const schema = loadProviderSchema();
  for (const env of stacks) {
    const json: unknown = JSON.parse(readFileSync(join(app.outdir, "stacks", env, "cdk.tf.json"), "utf8"));
    const findings = checkStack(json, schema);
    if (findings.length > 0) throw new SchemaMismatchError(env, findings);
  }
  return stacks;
}

function build(opts: BuildAppOptions): { app: App; stacks: string[] } {
  const dir = opts.inventoryDir ?? DEFAULT_INVENTORY_DIR;
  const app = new App(opts.outdir === undefined ? {} : { outdir: opts.outdir });
  const files = readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort();
  const problems: Problem[] = [];
  const stacks: string[] = [];
  for (const f of files) {
    const res = loadInventory(join(dir, f));
    if (!res.ok) {
      problems.push(...res.problems);
      continue;
    }
    if (!res.inventory.openstack) continue; // a lab environment: nothing to create
    new ClusterStack(app, res.env, { env: res.env, inventory: res.inventory });
    stacks.push(res.env);
  }
  if (problems.length > 0) throw new InventoryInvalidError(problems);
  return { app, stacks };
}
