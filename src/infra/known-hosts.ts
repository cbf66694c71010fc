/**
 * Pinned SSH host keys in OpenSSH's known_hosts format: `host[,host2] keytype base64 [comment]`,
 * `[host]:port` when the port is not 22, `*`/`?` wildcards and `!` negation, hashed `|1|salt|hash`
 * names, and `@revoked` lines (`@cert-authority` lines are ignored: no host certificates).
 * Keys are compared as raw wire-format blobs, the same bytes the server sends.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { HostKeyMismatchError, type SshTarget } from "./types.js";

/** One pinned key: its type and the raw public key blob. */
export interface PinnedKey {
  readonly type: string;
  readonly blob: Buffer;
}

/** The parsed file: keys per line, each with the host patterns it applies to. */
export interface KnownHosts {
  readonly path: string;
  /** Pinned (not revoked) keys for a host and port. */
  keysFor(host: string, port: number): PinnedKey[];
  /** True when `blob` is listed as @revoked for any host. */
  isRevoked(blob: Buffer): boolean;
}

interface Line {
  readonly marker?: "revoked" | "cert-authority";
  readonly hosts: readonly string[];
  readonly key: PinnedKey;
}

/** The name OpenSSH looks up: `host`, or `[host]:port` off port 22. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** OpenSSH's fingerprint of a key blob: `SHA256:` and unpadded base64 of its SHA-256. */
export function fingerprint(blob: Buffer): string {
  return "SHA256:" + createHash("sha256").update(blob).digest("base64").replace(/=+$/, "");
}

function hostMatches(pattern: string, name: string): boolean {
  if (pattern.startsWith("|1|")) {
    const [, , salt, hash] = pattern.split("|");
    if (!salt || !hash) return false;
    const mac = createHmac("sha1", Buffer.from(salt, "base64")).update(name).digest();
    const want = Buffer.from(hash, "base64");
    return want.length === mac.length && timingSafeEqual(want, mac);
  }
  if (!/[*?]/.test(pattern)) return pattern === name;
  // OpenSSH wildcards: * any run of characters, ? exactly one.
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${re}$`).test(name);
}

/** Parses known_hosts text; malformed lines are skipped like OpenSSH does. */
export function parseKnownHosts(text: string, path: string): KnownHosts {
  const lines: Line[] = [];
  for (const rawLine of text.split("\n")) {
    const fields = rawLine.trim().split(/\s+/);
    if (!fields[0] || fields[0].startsWith("#")) continue;
    let marker: Line["marker"];
    if (fields[0] === "@revoked" || fields[0] === "@cert-authority") {
      marker = fields.shift() === "@revoked" ? "revoked" : "cert-authority";
    }
    const [hosts, type, b64] = fields;
    if (!hosts || !type || !b64) continue;
    const blob = Buffer.from(b64, "base64");
    if (blob.length === 0) continue;
    lines.push({ marker, hosts: hosts.split(","), key: { type, blob } });
  }
  return {
    path,
    keysFor(host, port) {
      const name = knownHostsName(host, port);
      // A negated pattern (!host) excludes the line for that host, as in OpenSSH.
      return lines
        .filter((l) => l.marker === undefined)
        .filter((l) => !l.hosts.some((h) => h.startsWith("!") && hostMatches(h.slice(1), name)))
        .filter((l) => l.hosts.some((h) => hostMatches(h, name)))
        .map((l) => l.key);
    },
    isRevoked: (blob) => lines.some((l) => l.marker === "revoked" && l.key.blob.equals(blob)),
  };
}

/** A public key line `type base64 [comment]` as a pinned key; [] when it is not one. */
export function parsePublicKey(line: string): PinnedKey[] {
  const [type, b64] = line.trim().split(/\s+/);
  const blob = b64 ? Buffer.from(b64, "base64") : Buffer.alloc(0);
  return type && blob.length > 0 ? [{ type, blob }] : [];
}

/** ssh2 host-key algorithm names that can present a key of this known_hosts type. */
export function hostKeyAlgorithms(type: string): string[] {
  return type === "ssh-rsa" ? ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"] : [type];
}

/** The error for a presented key that is revoked, or that no pin (known_hosts or issued) matches. */
export function hostKeyError(t: SshTarget, where: string, expected: string[], presented: Buffer, known: KnownHosts) {
  const name = knownHostsName(t.host, t.port);
  const got = fingerprint(presented);
  const details = { node: t.name, expected, presented: got, knownHostsPath: known.path };
  if (known.isRevoked(presented)) {
    return new HostKeyMismatchError(`${where}: host key ${got} is marked @revoked in ${known.path}`, details);
  }
  if (expected.length === 0) {
    return new HostKeyMismatchError(
      `${where}: no host key for ${name} is pinned in ${known.path} and yagura issued none for ${t.name}; ` +
        `the server presents ${got}. Nodes the stack or the lab create get an issued key; for a machine ` +
        `installed otherwise, add its key to that file once you have checked the fingerprint on its console.`,
      details,
    );
  }
  return new HostKeyMismatchError(
    `${where}: host key changed: expected ${expected.join(" or ")}, the server presents ${got}. ` +
      `A server yagura rebuilt keeps its issued key, so treat this as an attack unless the machine was ` +
      `reinstalled outside yagura; then replace the line for ${name} in ${known.path}.`,
    details,
  );
}
