/**
 * The narrow interfaces the reconciler uses to touch the world. Real implementations live beside
 * this file (ssh.ts on node-ssh, etcd.ts on a real etcd client); tests of pure code may use fakes.
 */

/** How to reach one node over SSH. */
export interface SshTarget {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /**
   * Host keys yagura issued for this node (`ssh-ed25519 AAAA…`), pinned besides known_hosts: a
   * server the stack replaced presents the same issued key. @revoked lines in known_hosts still win.
   */
  readonly hostKeys?: readonly string[];
}

/** Exit status and output of a command on a node. */
export interface ExecResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options for one command. */
export interface ExecOptions {
  /** Written to the command's standard input. */
  readonly stdin?: string;
  /** Kills the command after this long (default: the pool's command timeout). */
  readonly timeoutMs?: number;
  /**
   * Running the command twice changes nothing that running it once would not (observe's script).
   * Such a script on stdin (`sh -s`) may run in the node's resident shell on a kept connection, a
   * fork instead of a new session, and runs again as a session if that shell goes away mid-script.
   * Its standard input is then /dev/null.
   */
  readonly repeatable?: boolean;
}

/** A command that exited non-zero: node, command, exit code and output, for the operator. */
export class CommandError extends Error {
  override readonly name = "CommandError";
  constructor(
    readonly node: string,
    readonly command: string,
    readonly code: number,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    const tail = (s: string) => (s.length > 2000 ? "…" + s.slice(-2000) : s).trim();
    super(
      `${node}: command exited ${code}: ${command.length > 300 ? command.slice(0, 300) + "…" : command}` +
        (stderr.trim() ? `\n  stderr: ${tail(stderr)}` : "") +
        (stdout.trim() && !stderr.trim() ? `\n  stdout: ${tail(stdout)}` : ""),
    );
  }
}

/** A command killed after its timeout (code 124, as coreutils' timeout reports it). */
export class CommandTimeoutError extends CommandError {
  // `name` stays "CommandError": callers and the CLI treat a timeout as a failed command.
  constructor(
    node: string,
    command: string,
    readonly timeoutMs: number,
    stdout: string,
    stderr: string,
  ) {
    super(
      node,
      command,
      124,
      stdout,
      `${stderr}${stderr && !stderr.endsWith("\n") ? "\n" : ""}timed out after ${timeoutMs} ms`,
    );
  }
}

/** A node whose SSH host key differs from the pinned one: that node stops, the others go on. */
export class HostKeyMismatchError extends Error {
  override readonly name = "HostKeyMismatchError";
  constructor(
    message: string,
    /** What was pinned and what was shown (SHA256 fingerprints), for reporters that offer the fix. */
    readonly details?: {
      readonly node: string;
      readonly expected: readonly string[];
      readonly presented: string;
      readonly knownHostsPath: string;
    },
  ) {
    super(message);
  }
}

/** A node that cannot be reached (connect refused, timeout, auth failure). */
export class NodeUnreachableError extends Error {
  override readonly name = "NodeUnreachableError";
}

/** Commands and files on nodes, by node name. One connection per node, reused. */
export interface NodeShell {
  /** Runs a command; resolves with its exit status (does not reject on a non-zero exit). */
  exec(node: string, command: string, opts?: ExecOptions): Promise<ExecResult>;
  /** Runs a command; rejects with CommandError on a non-zero exit; resolves with stdout. */
  run(node: string, command: string, opts?: ExecOptions): Promise<string>;
  /** Writes a file atomically (temp file, fsync, rename) with the given mode and owner. */
  upload(node: string, path: string, content: string | Buffer, opts: { mode: number; owner?: string }): Promise<void>;
  /** SSH round trips made per node since creation (commands + uploads), for benchmarks. */
  readonly roundTrips: ReadonlyMap<string, number>;
  /** Closes every connection. */
  close(): Promise<void>;
}

/** One etcd member as the cluster reports it. */
export interface EtcdMember {
  /** Member id as a decimal or hex string (as the client returns it). */
  readonly id: string;
  readonly name: string;
  readonly peerURLs: readonly string[];
  readonly clientURLs: readonly string[];
  readonly isLearner: boolean;
}

/** Status of one etcd endpoint. */
export interface EtcdEndpointStatus {
  readonly endpoint: string;
  readonly healthy: boolean;
  readonly error?: string;
  readonly memberId?: string;
  readonly leaderId?: string;
  readonly raftIndex?: number;
  readonly raftAppliedIndex?: number;
  readonly isLearner?: boolean;
}

/** Administrative access to an etcd cluster with a client certificate. */
export interface EtcdAdmin {
  members(): Promise<EtcdMember[]>;
  endpointStatus(endpoint: string): Promise<EtcdEndpointStatus>;
  addLearner(peerURL: string): Promise<EtcdMember>;
  promote(memberId: string): Promise<void>;
  remove(memberId: string): Promise<void>;
  put(key: string, value: string): Promise<void>;
  get(key: string): Promise<string | undefined>;
  close(): Promise<void>;
}

/** TLS material for an etcd client (PEM text). */
export interface EtcdTls {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}
