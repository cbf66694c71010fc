/**
 * The infrastructure half of a rebuild. `cdktf deploy <env>` creates and destroys servers; a
 * replacement is a targeted `terraform apply -replace=<server> -target=<server> -target=<trigger>`
 * in the synthesized stack, so only that server is replaced (cdktf deploy takes no -replace),
 * one control-plane node at a time. Before running anything the step finds out whether it can:
 * no managed node in the step, or no OpenStack provider installed where Terraform looks, is
 * reported as skipped with the reason (it never reaches for the registry to find out). The stacks
 * read each node's yagura-issued SSH host key from the PKI, so the commands run while the state
 * backend lends it, with its directory in YAGURA_PKI_DIR (for the environment in YAGURA_PKI_ENV).
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { envPaths } from "../cluster/paths.js";
import { OperationFailedError } from "../cli/errors.js";
import { PROJECT_DIR } from "../infra/stack-outputs.js";
import type { WithPki } from "../state/types.js";
// The stacks read the lent directory for this one environment (stacks/host-keys.ts).
import { PKI_DIR_VAR, PKI_ENV_VAR } from "../../stacks/host-keys.js";

export { PKI_DIR_VAR, PKI_ENV_VAR };

/** Outcome of a step that may not be possible here. */
export type StepOutcome =
  { readonly kind: "done"; readonly message: string } | { readonly kind: "skipped"; readonly message: string };

/** Terraform addresses that replace exactly these nodes' servers (their triggers and the servers). */
export function replaceTargets(
  tf: { resource?: Record<string, Record<string, unknown>> },
  nodes: readonly string[],
): { replace: string[]; target: string[] } {
  const servers = Object.keys(tf.resource?.openstack_compute_instance_v2 ?? {});
  const triggers = Object.keys(tf.resource?.terraform_data ?? {});
  const replace: string[] = [];
  const target: string[] = [];
  for (const n of nodes) {
    // Logical ids are `compute_<node>_<hash>` and `compute_<node>-rebuild_<hash>` (stacks/constructs/compute.ts).
    const s = servers.find((id) => new RegExp(`^compute_${n}_[0-9A-F]+$`).test(id));
    const t = triggers.find((id) => new RegExp(`^compute_${n}-rebuild_[0-9A-F]+$`).test(id));
    if (!s || !t)
      throw new Error(`the synthesized stack has no server or rebuild trigger for ${n}: run npx cdktf synth`);
    replace.push(`openstack_compute_instance_v2.${s}`);
    target.push(`openstack_compute_instance_v2.${s}`, `terraform_data.${t}`);
  }
  return { replace, target };
}

const PROVIDER = join("registry.terraform.io", "terraform-provider-openstack", "openstack");

/** Where an installed OpenStack provider would be, in the order Terraform looks; the first that exists. */
export function installedProvider(stackDir: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dirs = [
    join(stackDir, ".terraform", "providers"),
    ...(env.TF_PLUGIN_CACHE_DIR ? [env.TF_PLUGIN_CACHE_DIR] : []),
    join(homedir(), ".terraform.d", "plugins"),
    "/usr/local/share/terraform/plugins",
    "/usr/share/terraform/plugins",
  ];
  for (const d of dirs) {
    const p = join(d, PROVIDER);
    if (existsSync(p) && readdirSync(p).length > 0) return p;
  }
  return undefined;
}

/** Extra environment variables of a command. */
export type ExecEnv = Readonly<Record<string, string>>;

/** Runs a command in `cwd` with `extra` added to this process's environment; rejects with its output on a non-zero exit. */
export function runCommand(argv: readonly string[], cwd: string, extra: ExecEnv = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd,
      env: { ...process.env, CHECKPOINT_DISABLE: "1", TF_IN_AUTOMATION: "1", TF_INPUT: "0", ...extra },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (b: Buffer) => (out += b.toString()));
    child.stderr.on("data", (b: Buffer) => (out += b.toString()));
    child.on("error", (e) => reject(new OperationFailedError(`${argv.join(" ")}: ${e.message}`)));
    child.on("close", (code) =>
      code === 0
        ? resolve(out)
        : reject(
            new OperationFailedError(
              `${argv.join(" ")} exited ${code}: ${out.trim().split("\n").slice(-5).join(" | ")}`,
            ),
          ),
    );
  });
}

/** Options of the stack step. */
export interface StackStepOptions {
  readonly projectDir?: string;
  /** Runs a command (tests inject a recorder). @default runCommand */
  readonly exec?: (argv: readonly string[], cwd: string, env: ExecEnv) => Promise<string>;
  /** Lends the PKI (the state backend holder's). @default the local `<state>/<env>/pki` in place */
  readonly withPki?: WithPki;
}

/**
 * Deploys the stack (`deploy`) or replaces these nodes' servers (`replace`). `managed` are the step's
 * nodes an OpenStack pool owns; with none, or without an installed provider, it is skipped.
 */
export async function stackStep(
  env: string,
  action: "deploy" | "replace",
  managed: readonly string[],
  o: StackStepOptions = {},
): Promise<StepOutcome> {
  const project = o.projectDir ?? PROJECT_DIR;
  const withPki: WithPki = o.withPki ?? ((fn) => fn(envPaths(env).pkiDir));
  if (managed.length === 0)
    return { kind: "skipped", message: "skipped: the environment has no managed nodes in this step" };
  const stackDir = join(project, "cdktf.out", "stacks", env);
  if (!installedProvider(stackDir)) {
    return {
      kind: "skipped",
      message:
        `skipped: Terraform cannot reach the OpenStack provider here (none installed under ${join(stackDir, ".terraform")} or a plugin directory); ` +
        `run \`cdktf deploy ${env}\` where the provider can be installed, then apply again`,
    };
  }
  return withPki(async (pkiDir) => {
    const exec = (argv: readonly string[]) =>
      (o.exec ?? runCommand)(argv, project, { [PKI_DIR_VAR]: pkiDir, [PKI_ENV_VAR]: env });
    if (action === "deploy") {
      await exec(["npx", "cdktf", "deploy", env, "--auto-approve"]);
      return { kind: "done", message: `cdktf deploy ${env}` };
    }
    return replaceServers(stackDir, managed, exec);
  });
}

/** Synthesizes the stack (the server ids are in it) and replaces exactly `managed`'s servers. */
async function replaceServers(
  stackDir: string,
  managed: readonly string[],
  exec: (argv: readonly string[]) => Promise<string>,
): Promise<StepOutcome> {
  await exec(["npx", "cdktf", "synth"]);
  const tf = JSON.parse(readFileSync(join(stackDir, "cdk.tf.json"), "utf8")) as Parameters<typeof replaceTargets>[0];
  const t = replaceTargets(tf, managed);
  const argv = [
    "terraform",
    `-chdir=${stackDir}`,
    "apply",
    "-auto-approve",
    "-input=false",
    ...t.replace.map((a) => `-replace=${a}`),
    ...t.target.map((a) => `-target=${a}`),
  ];
  await exec(argv);
  return { kind: "done", message: argv.slice(2).join(" ") };
}
