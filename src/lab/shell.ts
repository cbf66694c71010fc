/** Reaching one lab node by name: over ssh (as the reconciler does) or, without ssh, by nsenter. */
import { OperationFailedError, UserError } from "../cli/errors.js";
import { labContext, type LabOptions } from "./context.js";
import { tryRun, type RunResult } from "./exec.js";
import { isOurs, PID1_NAMES } from "./procs.js";
import { routedViaBridge, sshExec } from "./ssh.js";
import { readState, type NodeRecord } from "./state.js";

function nodeRecord(
  env: string,
  node: string,
  opts: LabOptions,
): { rec: NodeRecord; ctx: ReturnType<typeof labContext> } {
  const ctx = labContext(env, opts);
  const rec = readState(ctx.labDir)?.nodes[node];
  if (!rec)
    throw new UserError(`lab ${env} has no node ${node}: name a node of its inventory, or run yagura lab up ${env}`);
  return { rec, ctx };
}

/** Runs `command` as root on lab node `node` over ssh with the pinned host key. */
export async function labExec(
  env: string,
  node: string,
  command: string,
  opts: LabOptions & { input?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  const { rec, ctx } = nodeRecord(env, node, opts);
  const bridge = readState(ctx.labDir)?.bridge?.name ?? "";
  if (!(await routedViaBridge(rec.address, bridge)))
    throw new UserError(`lab ${env}: ${rec.address} is not reached through bridge ${bridge}; run yagura lab up ${env}`);
  return sshExec(ctx.paths.sshKey, ctx.paths.knownHosts, rec.address, command, opts);
}

/**
 * Runs argv inside every namespace of lab node `node` (no ssh involved: for tests that stop or
 * break sshd itself). Refuses when the recorded PID 1 is no longer the node's runsvdir.
 */
export function labEnter(
  env: string,
  node: string,
  argv: readonly string[],
  opts: LabOptions & { input?: string } = {},
): Promise<RunResult> {
  const { rec } = nodeRecord(env, node, opts);
  if (!isOurs(rec.pid1, PID1_NAMES))
    throw new OperationFailedError(
      `lab ${env}: node ${node} is not running (its PID 1 is gone); yagura lab up ${env} boots it again`,
    );
  return tryRun(["nsenter", "-t", String(rec.pid1), "-a", "--", ...argv], { input: opts.input });
}
