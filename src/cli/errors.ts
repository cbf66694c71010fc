/**
 * The error taxonomy and its exit codes. User errors say what, where and how to fix; command
 * errors carry the node, command and output; anything else is a bug in yagura.
 */

/** Exit codes, stable for scripts and timers. */
export const EXIT = {
  ok: 0,
  /** The input is wrong (inventory problems, bad flags, missing files). */
  user: 1,
  /** Command-line usage error (commander's own). */
  usage: 2,
  /** An operation failed on a node or the cluster; re-running may repair it. */
  failed: 3,
  /** Refused for safety (quorum, lock held by another reconciler). */
  refused: 4,
  /** `drift`: the infrastructure differs from the inventory. */
  drift: 5,
  /** `drift`: whether it differs could not be found out (no provider, a Terraform error). */
  driftUnknown: 6,
  /** A bug in yagura. */
  internal: 70,
} as const;

/** A mistake the user can fix; `message` says what is wrong and what to change. */
export class UserError extends Error {
  override readonly name = "UserError";
  constructor(
    message: string,
    readonly details: readonly string[] = [],
  ) {
    super(message);
  }
}

/** An action refused because going on would be unsafe. */
export class RefusedError extends Error {
  override readonly name = "RefusedError";
}

/** An operation that failed; re-running may repair it. */
export class OperationFailedError extends Error {
  override readonly name = "OperationFailedError";
}

/** A command that printed its result and ends with a result code (drift found or unknown), not a failure. */
export class ResultCode extends Error {
  override readonly name = "ResultCode";
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

/** Maps any thrown value to an exit code and the lines to print on stderr. */
export function describeError(err: unknown): { code: number; lines: string[] } {
  if (err instanceof UserError) return { code: EXIT.user, lines: [`error: ${err.message}`, ...err.details] };
  if (err instanceof ResultCode) return { code: err.code, lines: [] };
  if (err instanceof RefusedError) return { code: EXIT.refused, lines: [`refused: ${err.message}`] };
  if (err instanceof OperationFailedError) return { code: EXIT.failed, lines: [`failed: ${err.message}`] };
  if (err instanceof Error && err.name === "CommandError")
    return { code: EXIT.failed, lines: [`failed: ${err.message}`] };
  // A bundle that is missing or fails its checksum is the inventory's to fix (by name, so the CLI
  // does not import the add-ons domain).
  if (err instanceof Error && err.name === "AddonSourceError")
    return { code: EXIT.user, lines: [`error: ${err.message}`] };
  const e = err instanceof Error ? err : new Error(String(err));
  return {
    code: EXIT.internal,
    lines: [`internal error (a bug in yagura; please report it with this output): ${e.message}`, e.stack ?? ""],
  };
}
