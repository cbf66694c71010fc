/**
 * SSH host keys that yagura issues for the nodes it creates. A server the stack replaces gets the
 * same key again through its cloud-init user data (a lab node through its tree), so the key
 * yagura pins never changes with a rebuild and no one is asked to trust a new key on first use.
 *
 * Kept as flat files beside the CAs (so a shared state backend carries them with the PKI):
 *   <pki>/ssh-host-<node>.key   OpenSSH private key (0600)   ssh-host-<node>.pub   `ssh-ed25519 AAAA… <node>`
 * A key is created once and never rewritten; removing a node leaves its key for a node of that name.
 */
import { generateKeyPairSync, randomBytes } from "node:crypto";
import {
  chmodSync,
  closeSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { UserError } from "../cli/errors.js";

/** One node's host key pair. */
export interface HostKey {
  /** OpenSSH private key (`-----BEGIN OPENSSH PRIVATE KEY-----`), unencrypted: sshd reads it at boot. */
  readonly privateKey: string;
  /** `ssh-ed25519 <base64> <node>`. */
  readonly publicKey: string;
}

/** Files of a node's host key in the PKI directory. */
export function hostKeyFiles(pkiDir: string, node: string): { key: string; pub: string } {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(node)) throw new Error(`not a node name for a host key file: ${node}`);
  return { key: join(pkiDir, `ssh-host-${node}.key`), pub: join(pkiDir, `ssh-host-${node}.pub`) };
}

/** SSH wire string: uint32 length, then the bytes. */
function sshString(b: Buffer | string): Buffer {
  const data = typeof b === "string" ? Buffer.from(b) : b;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  return Buffer.concat([len, data]);
}

function uint32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

/** Generates an ed25519 host key in OpenSSH's own formats (openssh-key-v1, unencrypted). */
export function generateHostKey(comment: string): HostKey {
  const jwk = generateKeyPairSync("ed25519").privateKey.export({ format: "jwk" });
  const seed = Buffer.from(jwk.d!, "base64url");
  const pub = Buffer.from(jwk.x!, "base64url");
  const pubBlob = Buffer.concat([sshString("ssh-ed25519"), sshString(pub)]);
  // Two equal check words let a reader tell a wrong passphrase; here they only have to match.
  const check = randomBytes(4);
  let priv = Buffer.concat([
    check,
    check,
    sshString("ssh-ed25519"),
    sshString(pub),
    sshString(Buffer.concat([seed, pub])),
    sshString(comment),
  ]);
  const pad = (8 - (priv.length % 8)) % 8;
  priv = Buffer.concat([priv, Buffer.from(Array.from({ length: pad }, (_, i) => i + 1))]);
  const body = Buffer.concat([
    Buffer.from("openssh-key-v1\0"),
    sshString("none"),
    sshString("none"),
    sshString(""),
    uint32(1),
    sshString(pubBlob),
    sshString(priv),
  ]).toString("base64");
  const lines = body.match(/.{1,70}/g)!;
  return {
    privateKey: `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines.join("\n")}\n-----END OPENSSH PRIVATE KEY-----\n`,
    publicKey: `ssh-ed25519 ${pubBlob.toString("base64")} ${comment}`,
  };
}

/** The public key line of an OpenSSH private key (the public blob sits in its header). */
export function publicKeyOf(privateKey: string, comment: string): string {
  const m = /-----BEGIN OPENSSH PRIVATE KEY-----([\s\S]*?)-----END OPENSSH PRIVATE KEY-----/.exec(privateKey);
  const body = m ? Buffer.from(m[1]!.replace(/\s+/g, ""), "base64") : Buffer.alloc(0);
  const magic = "openssh-key-v1\0";
  if (body.subarray(0, magic.length).toString() !== magic) throw new Error("not an OpenSSH private key");
  let at = magic.length;
  const next = () => {
    const len = body.readUInt32BE(at);
    const v = body.subarray(at + 4, at + 4 + len);
    at += 4 + len;
    return v;
  };
  next(); // cipher
  next(); // kdf
  next(); // kdf options
  at += 4; // number of keys
  const blob = next();
  const type = blob.subarray(4, 4 + blob.readUInt32BE(0)).toString();
  return `${type} ${blob.toString("base64")} ${comment}`;
}

/** The issued key of `node`, or undefined when yagura has not issued one. */
export function readHostKey(pkiDir: string, node: string): HostKey | undefined {
  const f = hostKeyFiles(pkiDir, node);
  let privateKey: string;
  try {
    privateKey = readFileSync(f.key, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  try {
    return { privateKey, publicKey: publicKeyOf(privateKey, node) };
  } catch (err) {
    throw new UserError(`${f.key}: ${(err as Error).message}; restore it from a backup of the environment's state`);
  }
}

/** The issued public keys (`ssh-ed25519 AAAA… node`) of those of `nodes` that have one. */
export function issuedHostKeys(pkiDir: string, nodes: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const n of nodes) {
    const k = readHostKey(pkiDir, n);
    if (k) out.set(n, k.publicKey);
  }
  return out;
}

/**
 * The host keys of `nodes`, issuing (0600) those that do not exist yet. Synchronous because a CDKTF
 * stack is built synchronously. The private key is written whole to a temp file and linked into
 * place, so two processes issuing at once agree on the one that landed first; the .pub file is for
 * people (yagura derives the public key from the private one).
 */
export function ensureHostKeys(pkiDir: string, nodes: readonly string[]): Map<string, HostKey> {
  const out = new Map<string, HostKey>();
  for (const n of nodes) {
    let k = readHostKey(pkiDir, n);
    if (!k) {
      mkdirSync(pkiDir, { recursive: true, mode: 0o700 });
      chmodSync(pkiDir, 0o700);
      const f = hostKeyFiles(pkiDir, n);
      const tmp = `${f.key}.${randomBytes(6).toString("hex")}.new`;
      try {
        const fd = openSync(tmp, "wx", 0o600);
        try {
          writeSync(fd, generateHostKey(n).privateKey);
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
        linkSync(tmp, f.key);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      } finally {
        rmSync(tmp, { force: true });
      }
      k = readHostKey(pkiDir, n)!;
      writeFileSync(f.pub, k.publicKey + "\n", { mode: 0o644 });
    }
    out.set(n, k);
  }
  return out;
}
