/**
 * NodeShell over SSH (node-ssh on ssh2). One connection per node, opened on first use and reused
 * for the pass; a failed connect is remembered so a dead node costs one timeout per pass, not one
 * per command. Host keys are pinned (known_hosts plus the keys yagura issued for the node) and
 * compared byte for byte.
 */
import { readFile } from "node:fs/promises";
import { Readable } from "node:stream";
import { posix } from "node:path";
import { NodeSSH } from "node-ssh";
import { UserError } from "../cli/errors.js";
import {
  fingerprint,
  hostKeyAlgorithms,
  hostKeyError,
  parseKnownHosts,
  parsePublicKey,
  type KnownHosts,
} from "./known-hosts.js";
import { createLimiter } from "./limit.js";
import { cmd, shq } from "./shell.js";
import {
  CommandError,
  CommandTimeoutError,
  NodeUnreachableError,
  type ExecOptions,
  type ExecResult,
  type NodeShell,
  type SshTarget,
} from "./types.js";

/** How to build a pool. */
export interface SshPoolOptions {
  readonly targets: readonly SshTarget[];
  /** OpenSSH private key of the operator (read once, never logged). */
  readonly privateKeyPath: string;
  /** Pinned host keys; a host missing from it is refused. */
  readonly knownHostsPath: string;
  /** Nodes worked on at once. @default 16 */
  readonly concurrency?: number;
  /** TCP connect plus SSH handshake and authentication. @default 10000 */
  readonly connectTimeoutMs?: number;
  /** Per command unless the command says otherwise. @default 600000 */
  readonly commandTimeoutMs?: number;
  /** How long past a command's timeout to wait for the node's own timeout(1) before giving up on the node. @default 5000 */
  readonly graceMs?: number;
}

/** The part of ssh2's channel used to abandon a command whose node stopped answering. */
interface ClosableChannel {
  close(): void;
}

/**
 * Runs `command` with /bin/sh under coreutils' timeout, which kills the command's whole process
 * group when time is up. The SSH "signal" request cannot: sshd refuses it for root sessions
 * ("session signalling requires privilege separation"). /bin/sh rather than the login shell makes
 * every node interpret commands alike and skips a second read of the user's ~/.bashrc.
 */
export function withRemoteTimeout(command: string, timeoutMs: number): string {
  const secs = (Math.max(timeoutMs, 1) / 1000).toFixed(3);
  return `exec timeout -k 5 ${secs} /bin/sh -c ${shq(command)}`;
}

/** sshd allows 10 sessions per connection by default; stay under it. */
const SESSIONS_PER_NODE = 8;
/** Fast, widely supported key exchanges first; OpenSSH's post-quantum default costs ~150 ms per connect. */
const KEX = [
  "curve25519-sha256",
  "curve25519-sha256@libssh.org",
  "ecdh-sha2-nistp256",
  "diffie-hellman-group14-sha256",
];
const SIGNALS: Record<string, number> = { HUP: 1, INT: 2, QUIT: 3, KILL: 9, PIPE: 13, TERM: 15 };

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

/** Creates the pool. Use one pool per reconcile pass and close it at the end. */
export function createSshPool(opts: SshPoolOptions): NodeShell {
  const targets = new Map(opts.targets.map((t) => [t.name, t]));
  const connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
  const commandTimeoutMs = opts.commandTimeoutMs ?? 600_000;
  const graceMs = opts.graceMs ?? 5_000;
  const global = createLimiter(opts.concurrency ?? 16);
  const perNode = new Map<string, <T>(task: () => Promise<T>) => Promise<T>>();
  const conns = new Map<string, Promise<NodeSSH>>();
  /** Forgets `ssh` as the connection of `node` (if it still is), so the next call reconnects. */
  const forget = (node: string, ssh: NodeSSH) => {
    const p = conns.get(node);
    if (p)
      void p.then(
        (cur) => cur === ssh && conns.get(node) === p && conns.delete(node),
        () => undefined,
      );
  };
  const roundTrips = new Map<string, number>();
  let secrets: Promise<{ key: string; known: KnownHosts }> | undefined;

  const loadSecrets = () =>
    (secrets ??= (async () => {
      const key = await readText(opts.privateKeyPath);
      if (key === undefined) throw new UserError(`SSH private key ${opts.privateKeyPath} does not exist`);
      const known = parseKnownHosts((await readText(opts.knownHostsPath)) ?? "", opts.knownHostsPath);
      return { key, known };
    })());

  async function connect(t: SshTarget): Promise<NodeSSH> {
    const { key, known } = await loadSecrets();
    const pinned = [...known.keysFor(t.host, t.port), ...(t.hostKeys ?? []).flatMap(parsePublicKey)];
    const where = `${t.name} (${t.user}@${t.host}:${t.port})`;
    let presented: Buffer | undefined;
    let refused = false;
    const ssh = new NodeSSH();
    try {
      await ssh.connect({
        host: t.host,
        port: t.port,
        username: t.user,
        privateKey: key,
        readyTimeout: connectTimeoutMs,
        keepaliveInterval: 15_000,
        algorithms: {
          kex: KEX,
          // Ask for the pinned key types, so a server holding several keys shows the pinned one.
          ...(pinned.length > 0
            ? { serverHostKey: [...new Set(pinned.flatMap((k) => hostKeyAlgorithms(k.type)))] }
            : {}),
        } as never,
        hostVerifier: (blob: Buffer) => {
          presented = blob;
          refused = known.isRevoked(blob) || !pinned.some((k) => k.blob.equals(blob));
          return !refused;
        },
      });
    } catch (err) {
      ssh.dispose();
      if (refused && presented)
        throw hostKeyError(
          t,
          where,
          pinned.map((k) => fingerprint(k.blob)),
          presented,
          known,
        );
      throw new NodeUnreachableError(`${where}: ${(err as Error).message}`, { cause: err });
    }
    // ssh2 emits 'error' on a dropped socket; without a listener that would crash the process.
    ssh.connection?.on("error", () => undefined);
    return ssh;
  }

  function connection(node: string): Promise<NodeSSH> {
    let p = conns.get(node);
    if (!p) {
      const t = targets.get(node);
      if (!t) throw new Error(`unknown node ${JSON.stringify(node)}: not among the pool's targets`);
      const mine = connect(t);
      conns.set(node, mine); // a rejected promise stays: the node is unreachable for the rest of the pass
      // A dropped connection reconnects on next use.
      mine.then(
        (ssh) => ssh.connection?.on("close", () => forget(node, ssh)),
        () => undefined,
      );
      p = mine;
    }
    return p;
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
  ): Promise<ExecResult> {
    const ssh = await connection(node);
    roundTrips.set(node, (roundTrips.get(node) ?? 0) + 1);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let channel: ClosableChannel | undefined;
    let timer: NodeJS.Timeout | undefined;
    // Backstop for a node that stops answering: do not wait past the grace time, and drop the
    // connection so the next call reconnects (and fails fast) instead of queueing on a dead one.
    const expired = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => {
        forget(node, ssh);
        channel?.close();
        ssh.dispose();
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
          onChannel: (c: ClosableChannel) => (channel = c),
          // Collect bytes, not per-chunk strings: a UTF-8 character may straddle two chunks.
          onStdout: (b) => out.push(b),
          onStderr: (b) => err.push(b),
        }),
        expired,
      ]);
    } catch (e) {
      throw new NodeUnreachableError(`${node}: ${(e as Error).message}`, { cause: e });
    } finally {
      clearTimeout(timer);
    }
    const stdout = Buffer.concat(out).toString("utf8");
    const stderr = Buffer.concat(err).toString("utf8");
    // timeout(1) exits 124 (137 after the -k escalation) once the time is up.
    const remoteTimeout =
      r !== "timeout" && (r.code === 124 || r.code === 137) && performance.now() - started >= timeoutMs;
    if (r === "timeout" || remoteTimeout) throw new CommandTimeoutError(node, command, timeoutMs, stdout, stderr);
    if (r.code !== null) return { code: r.code, stdout, stderr };
    if (r.signal !== null) return { code: 128 + (SIGNALS[r.signal] ?? 0), stdout, stderr };
    throw new NodeUnreachableError(`${node}: connection lost while running a command`);
  }

  const exec = (node: string, command: string, o?: ExecOptions) =>
    slot(node, () => execOn(node, command, o?.stdin, o?.timeoutMs ?? commandTimeoutMs));

  return {
    roundTrips,
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
    async close() {
      const all = [...conns.values()];
      conns.clear();
      for (const s of await Promise.allSettled(all)) if (s.status === "fulfilled") s.value.dispose();
    },
  };
}

/**
 * One round trip: write stdin to a private temp file beside the target, fsync it, set mode and
 * owner, rename over the target, fsync the directory. A failure removes the temp file.
 */
export function uploadCommand(path: string, mode: number, owner?: string): string {
  if (!posix.isAbsolute(path) || path.endsWith("/"))
    throw new Error(`upload path must be an absolute file path: ${path}`);
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777)
    throw new Error(`upload mode must be 0 to 0o7777, got ${mode}`);
  const dir = posix.dirname(path);
  const tmp = posix.join(dir, `.${posix.basename(path)}.yagura.XXXXXX`);
  const m = mode.toString(8).padStart(4, "0");
  return [
    "set -e",
    cmd`mkdir -p ${dir}`,
    cmd`t=$(mktemp ${tmp})`,
    `trap 'rm -f "$t"' EXIT`,
    `cat > "$t"`,
    `chmod ${shq(m)} "$t"`,
    ...(owner ? [`chown ${shq(owner)} "$t"`] : []),
    `sync "$t"`,
    cmd`mv -f "$t" ${path}`,
    cmd`sync ${dir}`,
  ].join("\n");
}
