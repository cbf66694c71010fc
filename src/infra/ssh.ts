/**
 * NodeShell over SSH (node-ssh on ssh2). One connection per node, opened on first use and kept:
 * for a pass, or, when the pool outlives passes (`reconcile --watch`, `apply`), from pass to pass,
 * so a pass that finds nothing to do costs one command per node on a connection already open.
 *
 * A kept connection is kept honest: keepalives close one whose node stopped answering, a dropped
 * one is opened again on next use (the host key checked again, against the pins as they are then),
 * a connection that no longer opens a channel within the connect timeout is replaced once before
 * its command starts, and `setTargets` closes the connections of nodes gone from the inventory
 * (or whose address, port, user or issued key changed). A failed connect is remembered until the
 * next pass, so a dead node costs one timeout per pass, not one per command.
 */
import { Readable } from "node:stream";
import type { NodeSSH } from "node-ssh";
import { createLimiter } from "./limit.js";
import { STDIN_SCRIPT, uploadCommand, withRemoteTimeout } from "./ssh-commands.js";
import { connectNode, sameTarget, secretsLoader } from "./ssh-connect.js";
import { openResident, ResidentLostError, type Resident, type ResidentClient } from "./ssh-resident.js";
import {
  CommandError,
  CommandTimeoutError,
  NodeUnreachableError,
  type ExecResult,
  type NodeShell,
  type SshTarget,
} from "./types.js";

export { uploadCommand, withRemoteTimeout } from "./ssh-commands.js";

/** How to build a pool. */
export interface SshPoolOptions {
  readonly targets: readonly SshTarget[];
  /** OpenSSH private key of the operator (read when it changes, never logged). */
  readonly privateKeyPath: string;
  /** Pinned host keys, read again when the file changes; a host missing from it is refused. */
  readonly knownHostsPath: string;
  /**
   * Commands in flight across all nodes. A command on an open connection costs yagura little (a
   * channel and its packets); the node does the work, so a pass over many nodes overlaps their
   * answers instead of taking them 16 at a time. @default 64
   */
  readonly concurrency?: number;
  /**
   * Connections being opened at once: each TCP connect, key exchange and authentication costs CPU
   * here and on the node (sshd forks and re-executes), so a cold pass over hundreds of nodes opens
   * them in waves. @default 16
   */
  readonly connectConcurrency?: number;
  /** TCP connect plus SSH handshake and authentication; also how long a kept connection may take to open a channel. @default 10000 */
  readonly connectTimeoutMs?: number;
  /** Per command unless the command says otherwise. @default 600000 */
  readonly commandTimeoutMs?: number;
  /** How long past a command's timeout to wait for the node's own timeout(1) before giving up on the node. @default 5000 */
  readonly graceMs?: number;
  /** Keepalive interval on open connections; three unanswered in a row close the connection. @default 15000 */
  readonly keepaliveMs?: number;
}

/** A pool that may outlive a pass. */
export interface SshPool extends NodeShell {
  /**
   * The nodes of the next pass. Connections to nodes no longer among them, or whose address, port,
   * user or issued host key changed, are closed. Call between passes, not while commands run.
   */
  setTargets(targets: readonly SshTarget[]): void;
  /** Starts a pass: nodes whose connect failed in an earlier pass are tried again. */
  beginPass(): void;
  /** Connections attempted per node since creation (each one a TCP connect and SSH handshake). */
  readonly connects: ReadonlyMap<string, number>;
  /** Nodes with an open, authenticated connection now. */
  connected(): string[];
}

/** The part of ssh2's channel used to abandon a command whose node stopped answering. */
interface ClosableChannel {
  close(): void;
}

/** One node's connection: being opened, open, or failed. */
interface Conn {
  readonly target: SshTarget;
  readonly ready: Promise<NodeSSH>;
  ssh?: NodeSSH;
  failed: boolean;
  /** Commands started on it; a connection that ran one before may have died since. */
  uses: number;
  /** Commands running on it now. */
  active: number;
  /** When its last command started or ended (performance.now()). */
  lastUsed: number;
  /** Its resident shell for repeatable scripts, opened on the first one (null: the channel was refused). */
  resident?: Promise<Resident | null>;
}

/**
 * sshd allows 10 sessions per connection by default; stay under it: 8 commands, the resident
 * shell, and the session that kills a resident script past its timeout.
 */
const SESSIONS_PER_NODE = 8;
const SIGNALS: Record<string, number> = { HUP: 1, INT: 2, QUIT: 3, KILL: 9, PIPE: 13, TERM: 15 };

/** Creates the pool. Close it when done: at the end of the pass, or of the watch that keeps it. */
export function createSshPool(opts: SshPoolOptions): SshPool {
  let targets = new Map(opts.targets.map((t) => [t.name, t]));
  const connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
  const commandTimeoutMs = opts.commandTimeoutMs ?? 600_000;
  const graceMs = opts.graceMs ?? 5_000;
  const connectOptions = { connectTimeoutMs, keepaliveMs: opts.keepaliveMs ?? 15_000, keepaliveCountMax: 3 };
  const global = createLimiter(opts.concurrency ?? 64);
  const connecting = createLimiter(opts.connectConcurrency ?? 16);
  const perNode = new Map<string, <T>(task: () => Promise<T>) => Promise<T>>();
  const conns = new Map<string, Conn>();
  const roundTrips = new Map<string, number>();
  const connects = new Map<string, number>();
  const secrets = secretsLoader(opts.privateKeyPath, opts.knownHostsPath);

  /** Closes `c` and forgets it as the connection of `node` (if it still is), so the next use reconnects. */
  const drop = (node: string, c: Conn) => {
    if (conns.get(node) === c) conns.delete(node);
    void c.ready.then(
      (ssh) => ssh.dispose(),
      () => undefined,
    );
  };

  function connection(node: string): Conn {
    const open = conns.get(node);
    if (open) return open;
    const t = targets.get(node);
    if (!t) throw new Error(`unknown node ${JSON.stringify(node)}: not among the pool's targets`);
    connects.set(node, (connects.get(node) ?? 0) + 1);
    const c: Conn = {
      target: t,
      // The connect timeout counts from the handshake's turn, not from the wait for it.
      ready: connecting(() => secrets().then((s) => connectNode(t, s, connectOptions))),
      failed: false,
      uses: 0,
      active: 0,
      lastUsed: 0,
    };
    conns.set(node, c); // a failed one stays until the next pass: the node is unreachable for this one
    c.ready.then(
      (ssh) => {
        c.ssh = ssh;
        // A dropped connection (the node's sshd gone, keepalives unanswered) reconnects on next use.
        ssh.connection?.on("close", () => drop(node, c));
      },
      () => (c.failed = true),
    );
    return c;
  }

  /**
   * Counts a command starting on `c`; says whether the connection was idle longer than a keepalive
   * interval before it, and so may have died without a word since.
   */
  function startUse(c: Conn): boolean {
    const idle = c.uses > 0 && c.active === 0 && performance.now() - c.lastUsed > connectOptions.keepaliveMs;
    c.uses++;
    c.active++;
    c.lastUsed = performance.now();
    return idle;
  }

  function endUse(c: Conn): void {
    c.active--;
    c.lastUsed = performance.now();
  }

  function slot<T>(node: string, task: () => Promise<T>): Promise<T> {
    let l = perNode.get(node);
    if (!l) perNode.set(node, (l = createLimiter(SESSIONS_PER_NODE)));
    return l(() => global(task));
  }

  async function execOn(
    node: string,
    command: string,
    stdin: string | Buffer | undefined,
    timeoutMs: number,
    /** Already the second try, on a new connection. */
    fresh = false,
  ): Promise<ExecResult> {
    const c = connection(node);
    const ssh = await c.ready;
    // A connection idle for a while (since an earlier pass) may have died without a word, and
    // keepalives notice that only after three intervals: if it cannot open a channel within the
    // connect timeout it is dropped. A command whose channel never opened because its connection
    // failed runs once more on a new connection: it had not started, so running it is safe.
    const idle = startUse(c);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let channel: ClosableChannel | undefined;
    let timer: NodeJS.Timeout | undefined;
    const opening = idle ? setTimeout(() => drop(node, c), connectTimeoutMs) : undefined;
    // Backstop for a node that stops answering: do not wait past the grace time, and drop the
    // connection so the next call reconnects (and fails fast) instead of queueing on a dead one.
    const expired = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => {
        channel?.close();
        drop(node, c);
        resolve("timeout");
      }, timeoutMs + graceMs);
    });
    const started = performance.now();
    let r;
    try {
      r = await Promise.race([
        ssh.execCommand(withRemoteTimeout(command, timeoutMs), {
          stdin: typeof stdin === "string" || stdin === undefined ? stdin : Readable.from([stdin]),
          noTrim: true,
          onChannel: (ch: ClosableChannel) => {
            clearTimeout(opening);
            channel = ch;
            roundTrips.set(node, (roundTrips.get(node) ?? 0) + 1);
          },
          // Collect bytes, not per-chunk strings: a UTF-8 character may straddle two chunks.
          onStdout: (b) => out.push(b),
          onStderr: (b) => err.push(b),
        }),
        expired,
      ]);
    } catch (e) {
      // sshd refusing one more channel is not a dead connection; anything else before the channel opened is.
      if (!channel && !fresh && !/^\(SSH\) Channel open failure/.test((e as Error).message)) {
        drop(node, c);
        r = "retry" as const;
      } else throw new NodeUnreachableError(`${node}: ${(e as Error).message}`, { cause: e });
    } finally {
      endUse(c);
      clearTimeout(timer);
      clearTimeout(opening);
    }
    if (r === "retry") return execOn(node, command, stdin, timeoutMs, true);
    const stdout = Buffer.concat(out).toString("utf8");
    const stderr = Buffer.concat(err).toString("utf8");
    // timeout(1) exits 124 (137 after the -k escalation) once the time is up.
    const remoteTimeout =
      r !== "timeout" && (r.code === 124 || r.code === 137) && performance.now() - started >= timeoutMs;
    if (r === "timeout" || remoteTimeout) throw new CommandTimeoutError(node, command, timeoutMs, stdout, stderr);
    if (r.code !== null) return { code: r.code, stdout, stderr };
    if (r.signal !== null) return { code: 128 + (SIGNALS[r.signal] ?? 0), stdout, stderr };
    drop(node, c);
    throw new NodeUnreachableError(`${node}: connection lost while running a command`);
  }

  /**
   * Runs a repeatable script in the node's resident shell (see ssh-resident.ts), opening it on the
   * first one. Resolves undefined when the script is to run as a session of its own instead: the
   * shell is busy with another, its channel was refused, or it went away before the script ended
   * (running a repeatable script again is safe). A connection idle past a keepalive interval must
   * acknowledge the request within the connect timeout, as a session's channel must open in it.
   */
  async function residentOn(node: string, script: string, timeoutMs: number): Promise<ExecResult | undefined> {
    const c = connection(node);
    const ssh = await c.ready;
    const client = ssh.connection as ResidentClient | null;
    if (!client) return undefined;
    if (c.resident && (await c.resident)?.closed) c.resident = undefined;
    const opening = (c.resident ??= openResident(client).catch(() => null));
    const rs = await opening;
    if (!rs) {
      if (c.resident === opening) c.resident = undefined; // tried again with the next script
      return undefined;
    }
    if (rs.busy || rs.closed) return undefined;
    const idle = startUse(c);
    roundTrips.set(node, (roundTrips.get(node) ?? 0) + 1);
    let r;
    try {
      r = await rs.run(script, { timeoutMs, ...(idle ? { ackMs: connectTimeoutMs } : {}) });
    } catch (e) {
      if (!(e instanceof ResidentLostError)) throw e;
      rs.close();
      if (e.unanswered) drop(node, c);
      return undefined;
    } finally {
      endUse(c);
    }
    if (r !== "timeout") return r;
    // timeout(1)'s work, from outside: the script's whole process group, the shell included. Only
    // on the connection the shell came with: after a reconnect the node may have restarted, and the
    // pid may be another process's.
    if (rs.pid !== undefined && conns.get(node) === c)
      await execOn(node, `kill -KILL -${rs.pid}`, undefined, connectTimeoutMs).catch(() => undefined);
    rs.close();
    throw new CommandTimeoutError(node, STDIN_SCRIPT, timeoutMs, "", "");
  }

  const exec: NodeShell["exec"] = (node, command, o) =>
    slot(node, async () => {
      const timeoutMs = o?.timeoutMs ?? commandTimeoutMs;
      if (o?.repeatable && command === STDIN_SCRIPT && o.stdin !== undefined) {
        const r = await residentOn(node, o.stdin, timeoutMs);
        if (r) return r;
      }
      return execOn(node, command, o?.stdin, timeoutMs);
    });

  return {
    roundTrips,
    connects,
    exec,
    async run(node, command, o) {
      const r = await exec(node, command, o);
      if (r.code !== 0) throw new CommandError(node, command, r.code, r.stdout, r.stderr);
      return r.stdout;
    },
    async upload(node, path, content, o) {
      const command = uploadCommand(path, o.mode, o.owner);
      // A Buffer goes as it is: copying a 60 MB binary per node and upload cost a memcpy and its garbage.
      const data = typeof content === "string" ? Buffer.from(content) : content;
      const r = await slot(node, () => execOn(node, command, data, commandTimeoutMs));
      if (r.code !== 0) throw new CommandError(node, `upload ${path}`, r.code, r.stdout, r.stderr);
    },
    setTargets(list) {
      const next = new Map(list.map((t) => [t.name, t]));
      for (const [name, c] of [...conns]) {
        const t = next.get(name);
        if (!t || !sameTarget(t, c.target)) drop(name, c);
      }
      for (const name of [...perNode.keys()]) if (!next.has(name)) perNode.delete(name);
      targets = next;
    },
    beginPass() {
      for (const [name, c] of [...conns]) if (c.failed) conns.delete(name);
    },
    connected: () => [...conns].filter(([, c]) => c.ssh && !c.failed).map(([name]) => name),
    async close() {
      const all = [...conns.values()];
      conns.clear();
      for (const s of await Promise.allSettled(all.map((c) => c.ready)))
        if (s.status === "fulfilled") s.value.dispose();
    },
  };
}
