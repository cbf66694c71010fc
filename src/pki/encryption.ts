/**
 * The key that encrypts Kubernetes Secrets at rest. Generated once per environment from the
 * operating system's random source and kept in the PKI directory (0600, never in the inventory,
 * never printed): losing it makes every stored Secret unreadable, so it is never regenerated.
 */
import { randomBytes } from "node:crypto";
import { link, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { ensureDir, writeFileAtomic } from "./files.js";
import { UserError } from "../cli/errors.js";

/** File name of the key inside the PKI directory. */
export const ENCRYPTION_KEY_FILE = "secrets-encryption.json";

/** A stored Secret encryption key (the shape render/ reads as EncryptionKey). */
export interface StoredEncryptionKey {
  readonly provider: "secretbox";
  readonly name: string;
  /** Base64 of 32 random bytes. */
  readonly secret: string;
}

function parse(text: string, path: string): StoredEncryptionKey {
  let v: Partial<StoredEncryptionKey>;
  try {
    v = JSON.parse(text) as Partial<StoredEncryptionKey>;
  } catch {
    throw new UserError(`${path} is not JSON: restore it from a backup of the environment's state (never delete it)`);
  }
  const bytes = typeof v.secret === "string" ? Buffer.from(v.secret, "base64").length : 0;
  if (v.provider !== "secretbox" || typeof v.name !== "string" || !/^[a-z0-9-]{1,40}$/.test(v.name) || bytes !== 32) {
    throw new UserError(
      `${path} does not hold a secretbox key (provider, name, 32-byte base64 secret): restore it from a backup of the environment's state; a new key would make every stored Secret unreadable`,
    );
  }
  return { provider: "secretbox", name: v.name, secret: v.secret! };
}

/** Loads the environment's Secret encryption key, creating it (0600) on first use. */
export async function ensureEncryptionKey(pkiDir: string): Promise<StoredEncryptionKey> {
  const path = join(pkiDir, ENCRYPTION_KEY_FILE);
  try {
    return parse(await readFile(path, "utf8"), path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  await ensureDir(pkiDir, 0o700);
  const key: StoredEncryptionKey = { provider: "secretbox", name: "key1", secret: randomBytes(32).toString("base64") };
  // Written whole to a temp file, then linked into place: link fails when the key exists, so two
  // processes creating it at once (plan next to reconcile) agree on the one that was stored first.
  const tmp = `${path}.${randomBytes(6).toString("hex")}.new`;
  await writeFileAtomic(tmp, JSON.stringify(key) + "\n", 0o600);
  try {
    await link(tmp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    return parse(await readFile(path, "utf8"), path);
  } finally {
    await rm(tmp, { force: true });
  }
  return key;
}
