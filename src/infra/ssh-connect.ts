/**
 * Opening one SSH connection: the operator key, the host key checked against what is pinned for
 * the node (known_hosts plus the keys yagura issued), fast key exchanges and keepalives. Both
 * files are read again whenever they change, so a connection opened later in a long watch (a
 * reconnect) is checked against the pins as they are then, never against a copy from the start.
 */
import { stat, readFile } from "node:fs/promises";
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
import { NodeUnreachableError, type SshTarget } from "./types.js";

/** Fast, widely supported key exchanges first; OpenSSH's post-quantum default costs ~150 ms per connect. */
const KEX = [
  "curve25519-sha256",
  "curve25519-sha256@libssh.org",
  "ecdh-sha2-nistp256",
  "diffie-hellman-group14-sha256",
];

/** The operator key and the pinned host keys, as the files hold them now. */
export interface Secrets {
  readonly key: string;
  readonly known: KnownHosts;
}

/** How connections are opened. */
export interface ConnectOptions {
  readonly connectTimeoutMs: number;
  /** A keepalive every this long; after `keepaliveCountMax` unanswered ones the connection is closed. */
  readonly keepaliveMs: number;
  readonly keepaliveCountMax: number;
}

/** A file's content, read again only when its inode, size or mtime changed. */
function cachedFile<T>(path: string, parse: (text: string | undefined) => T): () => Promise<T> {
  let seen: { stamp: string; value: Promise<T> } | undefined;
  return async () => {
    let stamp = "absent";
    try {
      const s = await stat(path);
      stamp = `${s.ino}:${s.size}:${s.mtimeMs}`;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
    if (seen?.stamp !== stamp) {
      const value = (stamp === "absent" ? Promise.resolve(undefined) : readText(path)).then(parse);
      seen = { stamp, value };
      // A failed read is not kept: the next connect tries again.
      value.catch(() => seen?.value === value && (seen = undefined));
    }
    return seen.value;
  };
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

/** Reads the operator key and known_hosts, again whenever either file changes. */
export function secretsLoader(privateKeyPath: string, knownHostsPath: string): () => Promise<Secrets> {
  const key = cachedFile(privateKeyPath, (text) => {
    if (text === undefined)
      throw new UserError(
        `SSH private key ${privateKeyPath} does not exist: put the operator key there (for the lab, \`yagura lab up ENV\` writes it) or name it in the inventory's ssh.privateKeyFile`,
      );
    return text;
  });
  const known = cachedFile(knownHostsPath, (text) => parseKnownHosts(text ?? "", knownHostsPath));
  return async () => {
    const [k, kh] = await Promise.all([key(), known()]);
    return { key: k, known: kh };
  };
}

/**
 * Connects to `t` and authenticates; the host key must be one pinned for it and not revoked.
 * Rejects with HostKeyMismatchError (naming both fingerprints and the file to fix) or
 * NodeUnreachableError.
 */
export async function connectNode(t: SshTarget, secrets: Secrets, o: ConnectOptions): Promise<NodeSSH> {
  const { key, known } = secrets;
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
      readyTimeout: o.connectTimeoutMs,
      keepaliveInterval: o.keepaliveMs,
      keepaliveCountMax: o.keepaliveCountMax,
      algorithms: {
        kex: KEX,
        // Ask for the pinned key types, so a server holding several keys shows the pinned one.
        ...(pinned.length > 0 ? { serverHostKey: [...new Set(pinned.flatMap((k) => hostKeyAlgorithms(k.type)))] } : {}),
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
      throw hostKeyError(t, where, [...new Set(pinned.map((k) => fingerprint(k.blob)))], presented, known);
    throw new NodeUnreachableError(`${where}: ${(err as Error).message}`, { cause: err });
  }
  // ssh2 emits 'error' on a dropped socket; without a listener that would crash the process.
  ssh.connection?.on("error", () => undefined);
  return ssh;
}

/** Two targets reach the same server with the same pins (a connection to one serves the other). */
export function sameTarget(a: SshTarget, b: SshTarget): boolean {
  return (
    a.host === b.host &&
    a.port === b.port &&
    a.user === b.user &&
    (a.hostKeys ?? []).join("\n") === (b.hostKeys ?? []).join("\n")
  );
}
