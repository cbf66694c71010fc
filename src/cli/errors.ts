/**
 * The error taxonomy and its exit codes. User errors say what, where and how to fix; command
 * errors carry the node, command and output; anything else is a bug in yagura.
 */
import { mapStack } from "./source-stack.js";

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

/** Domain errors mapped by name (so the CLI does not import every domain): what they mean for the exit code. */
const BY_NAME: Record<string, "user" | "failed" | "refused"> = {
  // A bundle that is missing or fails its checksum is the inventory's to fix.
  AddonSourceError: "user",
  StackOutputsError: "user",
  TerraformMissingError: "user",
  CommandError: "failed",
  KubeApiError: "failed",
  NodeUnreachableError: "failed",
  DrainTimeoutError: "failed",
  NodesNotReadyError: "failed",
  S3Error: "failed",
  HostKeyMismatchError: "refused",
};

/** Error codes of a network peer that did not answer, or went away (Node's net, ssh2, undici). */
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "EHOSTDOWN",
  "ENETUNREACH",
  "ENETDOWN",
  "EPIPE",
  "EAI_AGAIN",
  "ENOTFOUND",
  "ECONNABORTED",
  "ERR_SOCKET_CONNECTION_TIMEOUT",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
]);

type Coded = Error & { code?: unknown; level?: unknown; cause?: unknown };

/**
 * What a library error that arrived unwrapped says about the world, or undefined when it is not
 * one: a peer that did not answer (by error code, also on a fetch's cause), an SSH handshake or
 * authentication that failed (ssh2's `level`), etcd's gRPC errors, a timeout or abort.
 */
function operational(e: Coded): string | undefined {
  const cause = e.cause instanceof Error ? (e.cause as Coded) : undefined;
  const code = typeof e.code === "string" ? e.code : typeof cause?.code === "string" ? cause.code : undefined;
  const cmessage = cause && cause.message !== e.message ? ` (${cause.message})` : "";
  if (code && NETWORK_CODES.has(code))
    return `${e.message}${cmessage}: the peer did not answer; check that it is up and reachable from here, then run the command again`;
  if (typeof e.level === "string" && e.level.startsWith("client-"))
    return e.level === "client-authentication"
      ? `${e.message}: the node refused yagura's SSH key; check ssh.privateKeyFile and the node's authorized keys`
      : `${e.message}: SSH to the node failed; check that it is up and its sshd answers, then run the command again`;
  const cls = e.constructor?.name ?? "";
  if (/^GRPC\w*Error$/.test(cls) || /^Etcd\w*Error$/.test(cls))
    return `etcd: ${e.message}: check that the etcd members are up (yagura status ENV), then run the command again`;
  if (e.name === "TimeoutError" || e.name === "AbortError")
    return `${e.message}: no answer in time; run the command again`;
  return undefined;
}

/** Maps any thrown value to an exit code and the lines to print on stderr. */
export function describeError(err: unknown): { code: number; lines: string[] } {
  if (err instanceof UserError) return { code: EXIT.user, lines: [`error: ${err.message}`, ...err.details] };
  if (err instanceof ResultCode) return { code: err.code, lines: [] };
  if (err instanceof RefusedError) return { code: EXIT.refused, lines: [`refused: ${err.message}`] };
  if (err instanceof OperationFailedError) return { code: EXIT.failed, lines: [`failed: ${err.message}`] };
  if (err instanceof Error) {
    const kind = BY_NAME[err.name];
    const details = (err as { details?: unknown }).details;
    const more = Array.isArray(details) ? details.map(String) : [];
    if (kind === "user") return { code: EXIT.user, lines: [`error: ${err.message}`, ...more] };
    if (kind === "refused") return { code: EXIT.refused, lines: [`refused: ${err.message}`] };
    if (kind === "failed") return { code: EXIT.failed, lines: [`failed: ${err.message}`] };
    const why = operational(err);
    if (why) return { code: EXIT.failed, lines: [`failed: ${why}`] };
  }
  const e = err instanceof Error ? err : new Error(String(err));
  return {
    code: EXIT.internal,
    lines: [
      `internal error (a bug in yagura; please report it with this output): ${e.message}`,
      e.stack ? mapStack(e.stack) : "",
    ],
  };
}
