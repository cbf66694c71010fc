/**
 * One drift check of an environment's infrastructure: synthesize its stack, `terraform init`,
 * `terraform plan -detailed-exitcode -lock=false` against its state (what `cdktf diff` runs), and
 * read the saved plan with `terraform show -json`. Three results, never confused: no changes,
 * changes (with addresses), or unknown with the reason and Terraform's first error. It never applies.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { ClusterSpec } from "../cluster/spec.js";
import { envPaths } from "../cluster/paths.js";
import { parsePlanLine, summarizePlan, type PlanSummary } from "./plan.js";
import { classifyFailure, firstError, terraform, TerraformMissingError, type UnknownReason } from "./terraform.js";

/** The result of a drift check. */
export type DriftResult =
  | { readonly kind: "none"; readonly stackDir: string; readonly statePath?: string }
  | ({ readonly kind: "changes"; readonly stackDir: string; readonly statePath?: string } & PlanSummary)
  | {
      readonly kind: "unknown";
      readonly reason: UnknownReason | "terraform-missing" | "synth";
      /** One line: why, with Terraform's first error when there is one. */
      readonly message: string;
      readonly stackDir?: string;
    };

/** Options of a drift check. */
export interface DriftOptions {
  /** Root of the local state; the stack is synthesized under <state>/<env>/drift. */
  readonly stateRoot?: string;
  /** Provider plugins from this directory only (`terraform init -plugin-dir`): no registry is contacted. */
  readonly pluginDir?: string;
  /** The terraform binary. @default "terraform" */
  readonly terraformBin?: string;
}

const WHY: Record<UnknownReason, string> = {
  provider: "the OpenStack provider is not installed/reachable",
  config: "terraform rejected the synthesized stack",
  terraform: "terraform failed",
};

const unknown = (reason: UnknownReason, step: string, out: string, stackDir: string): DriftResult => ({
  kind: "unknown",
  reason,
  message: `${WHY[reason]} (terraform ${step}): ${firstError(out) ?? (out.trim().split("\n").pop() || "no output")}`,
  stackDir,
});

/** Runs one drift check of `spec`'s stack; see the module comment. Throws only on a bug. */
export async function checkDrift(spec: ClusterSpec, o: DriftOptions = {}): Promise<DriftResult> {
  if (!spec.inventory.openstack)
    throw new Error(`${spec.env} has no openstack section: it has no infrastructure stack`);
  const outdir = join(envPaths(spec.env, o.stateRoot).dir, "drift");
  let stackDir: string;
  let statePath: string | undefined;
  try {
    // cdktf is large; only drift checks load it.
    const { synthesizeStack } = await import("./synth.js");
    ({ dir: stackDir, statePath } = synthesizeStack(spec.env, spec.inventory, outdir, o.stateRoot));
  } catch (err) {
    return {
      kind: "unknown",
      reason: "synth",
      message: `the stack could not be synthesized: ${(err as Error).message}`,
    };
  }
  return planStack(stackDir, statePath, o);
}

/** init, plan and show in a synthesized stack directory (any Terraform JSON or HCL configuration). */
export async function planStack(
  stackDir: string,
  statePath: string | undefined,
  o: Pick<DriftOptions, "pluginDir" | "terraformBin"> = {},
): Promise<DriftResult> {
  const bin = o.terraformBin ?? "terraform";
  const where = statePath ? { statePath } : {};
  // The saved plan can hold secrets (application credentials): a private directory, removed after.
  const tmp = mkdtempSync(join(stackDir, ".plan-"));
  try {
    const init = await terraform(
      ["init", "-input=false", "-no-color", ...(o.pluginDir ? [`-plugin-dir=${o.pluginDir}`] : [])],
      stackDir,
      bin,
    );
    if (init.code !== 0) {
      const out = init.stdout + init.stderr;
      return unknown(classifyFailure(out), "init", out, stackDir);
    }
    const planFile = join(tmp, "drift.tfplan");
    const plan = await terraform(
      ["plan", "-detailed-exitcode", "-lock=false", "-input=false", "-no-color", `-out=${planFile}`],
      stackDir,
      bin,
    );
    if (plan.code === 0) return { kind: "none", stackDir, ...where };
    if (plan.code !== 2) {
      const out = plan.stdout + plan.stderr;
      return unknown(classifyFailure(out), "plan", out, stackDir);
    }
    return { kind: "changes", stackDir, ...where, ...(await readPlan(planFile, stackDir, bin, plan.stdout)) };
  } catch (err) {
    if (err instanceof TerraformMissingError)
      return { kind: "unknown", reason: "terraform-missing", message: err.message };
    throw err;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** The saved plan as JSON; when `show` fails, the counts of the plan's own "Plan:" line without addresses. */
async function readPlan(planFile: string, stackDir: string, bin: string, planText: string): Promise<PlanSummary> {
  const show = existsSync(planFile)
    ? await terraform(["show", "-json", "-no-color", planFile], stackDir, bin)
    : undefined;
  if (show?.code === 0) return summarizePlan(JSON.parse(show.stdout));
  const counts = parsePlanLine(planText) ?? { add: 0, change: 0, destroy: 0 };
  return { ...counts, forget: 0, resources: [], driftedOutside: [], outputs: [] };
}

/** The report's one-line verdict: "no changes", "changes: N to add, …" or "unknown: …". */
export function verdict(r: DriftResult): string {
  if (r.kind === "none") return "no changes: the infrastructure matches the inventory";
  if (r.kind === "unknown") return `unknown: ${r.message}`;
  const forget = r.forget ? `, ${r.forget} to forget` : "";
  return `changes: ${r.add} to add, ${r.change} to change, ${r.destroy} to destroy${forget}`;
}

/** The full report, one line per resource under the verdict. */
export function formatDrift(r: DriftResult): string[] {
  const lines = [verdict(r)];
  if (r.kind === "changes") {
    for (const c of r.resources) lines.push(`  ${c.action.padEnd(7)} ${c.address}`);
    if (r.driftedOutside.length) lines.push(`  changed outside Terraform: ${r.driftedOutside.join(", ")}`);
    if (r.outputs.length) lines.push(`  outputs that change: ${r.outputs.join(", ")}`);
  }
  if (r.kind !== "unknown" && r.statePath && !existsSync(r.statePath))
    lines.push(`  note: no state at ${r.statePath}: the stack has not been deployed from here`);
  return lines;
}

/** The value of the yagura_infra_drift gauge: 1 changes, 0 none, -1 unknown. */
export function driftGauge(r: DriftResult): number {
  return r.kind === "changes" ? 1 : r.kind === "none" ? 0 : -1;
}
