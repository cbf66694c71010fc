/**
 * `yagura drift ENV`: does the environment's infrastructure still match its inventory? Synthesizes
 * the stack and runs a lock-free, input-free `terraform plan` (what `cdktf diff` runs); never applies.
 * Exit 0 no changes, 5 changes, 6 unknown (Terraform could not tell: no provider, an error).
 */
import type { Command } from "commander";
import { checkDrift, formatDrift, type DriftResult } from "../drift/check.js";
import type { DriftFlags } from "../drift/watch.js";
import { parseDuration } from "../inventory/rules/syntax.js";
import { EXIT, ResultCode, UserError } from "./errors.js";
import { requireSpec } from "./inventory.js";

/** The exit code of a drift result. */
export function driftExitCode(r: DriftResult): number {
  return r.kind === "none" ? EXIT.ok : r.kind === "changes" ? EXIT.drift : EXIT.driftUnknown;
}

/** Registers `drift`. */
export function registerDriftCommand(program: Command): void {
  program
    .command("drift")
    .description("compare the environment's infrastructure with its inventory (terraform plan); never applies")
    .argument("<env>", "environment name or inventory file (with an openstack section)")
    .option("--plugin-dir <dir>", "take the OpenStack provider from this directory only; no registry is contacted")
    .option("--json", "print the result as JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  yagura drift prod\n  yagura drift prod --plugin-dir /opt/terraform/plugins --json\n\n" +
        "Exit 0 when nothing changed, 5 when the plan has changes, 6 when Terraform could not tell\n" +
        "(for instance the OpenStack provider cannot be installed or reached). Apply with `cdktf deploy ENV`.",
    )
    .action(async (env: string, o: { pluginDir?: string; json?: boolean }) => {
      const s = requireSpec(env, program.opts().inventoryDir);
      if (!s.inventory.openstack)
        throw new UserError(
          `${s.file}: ${s.env} has no openstack section, so it has no infrastructure stack to compare`,
        );
      const r = await checkDrift(s, o.pluginDir ? { pluginDir: o.pluginDir } : {});
      if (o.json) console.log(JSON.stringify(r, null, 2));
      else for (const l of formatDrift(r)) console.log(l);
      const code = driftExitCode(r);
      if (code !== EXIT.ok) throw new ResultCode(r.kind, code);
    });
}

/** The drift flags of `reconcile --watch`. */
export interface DriftWatchCliFlags {
  driftInterval?: string;
  applyInfra?: boolean;
  driftPluginDir?: string;
}

/** Parses --drift-interval (default 1h), --apply-infra and --drift-plugin-dir; throws a UserError on a bad value. */
export function driftFlagsOf(o: DriftWatchCliFlags): DriftFlags {
  const intervalMs = parseDuration(o.driftInterval ?? "1h");
  if (!intervalMs || intervalMs < 60_000)
    throw new UserError(
      `--drift-interval must be a duration of 1m or more such as 30m or 1h (a plan takes a while and queries the cloud), not ${JSON.stringify(o.driftInterval)}`,
    );
  return {
    intervalMs,
    applyInfra: o.applyInfra === true,
    ...(o.driftPluginDir ? { pluginDir: o.driftPluginDir } : {}),
  };
}

/** Whether any drift flag was given (they only apply with --watch). */
export const anyDriftFlag = (o: DriftWatchCliFlags): boolean =>
  o.driftInterval !== undefined || o.applyInfra === true || o.driftPluginDir !== undefined;
