/**
 * Synthesizing one environment's stack in-process (what `cdktf synth` does for it, through the
 * same ClusterStack), into a directory of the environment's own state so `terraform init` keeps
 * its provider cache between checks. The provider-schema check runs here too: a stack that fails
 * it would only fail later, inside terraform.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { App } from "cdktf";
import type { Inventory } from "../inventory/schema.js";
import { publicHostKeys, stackHostKeys, writeHostKeyVars } from "../../stacks/host-keys.js";
import { ClusterStack } from "../../stacks/cluster-stack.js";
import { withoutCreationStacks } from "../../stacks/quiet-stacks.js";
import { checkStack, loadProviderSchema } from "../../stacks/schema-check.js";

/** A synthesized stack ready for terraform. */
export interface SynthesizedStack {
  /** The directory holding cdk.tf.json (terraform's working directory). */
  readonly dir: string;
  /** The local backend's state file the stack declares, or undefined with a remote backend. */
  readonly statePath?: string;
}

/**
 * Synthesizes the stack of `env` under `outdir` (created 0700) and checks it against the provider
 * schema. The nodes' issued host keys come from the state under `stateRoot`, as for `cdktf synth`.
 */
export function synthesizeStack(
  env: string,
  inventory: Inventory,
  outdir: string,
  stateRoot?: string,
): SynthesizedStack {
  mkdirSync(outdir, { recursive: true, mode: 0o700 });
  const keys = stackHostKeys(env, inventory, stateRoot !== undefined ? { stateRoot } : {});
  withoutCreationStacks(() => {
    const app = new App({ outdir });
    new ClusterStack(app, env, { env, inventory, hostKeys: publicHostKeys(keys) });
    app.synth();
  });
  const dir = join(outdir, "stacks", env);
  const file = join(dir, "cdk.tf.json");
  if (!existsSync(file)) throw new Error(`synthesis of ${env} wrote no ${file} (a bug in yagura)`);
  writeHostKeyVars(dir, keys);
  const json = JSON.parse(readFileSync(file, "utf8")) as { terraform?: { backend?: { local?: { path?: string } } } };
  const findings = checkStack(json, loadProviderSchema());
  if (findings.length > 0)
    throw new Error(
      `the synthesized stack of ${env} does not match the OpenStack provider schema: ${findings[0]!.message} (${findings.length} finding(s); run npx cdktf synth for all)`,
    );
  const statePath = json.terraform?.backend?.local?.path;
  return { dir, ...(statePath ? { statePath } : {}) };
}
