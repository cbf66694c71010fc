/**
 * Sealing of secrets kept in a shared store: AES-256-GCM under a key from the environment
 * (YAGURA_STATE_KEY, 32 bytes in base64). The store's key of each value is bound in as additional
 * data, so a sealed value copied under another name fails to open. The key is never logged.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { UserError } from "../cli/errors.js";

/** The environment variable that holds the state key. */
export const STATE_KEY_VAR = "YAGURA_STATE_KEY";

const VERSION = 1;
const IV = 12;
const TAG = 16;

/** Reads and checks the state key; a UserError names the variable and how to make a key. */
export function stateKeyFrom(env: NodeJS.ProcessEnv = process.env): Buffer {
  const raw = env[STATE_KEY_VAR]?.trim();
  const how = `set ${STATE_KEY_VAR} to 32 random bytes in base64 (openssl rand -base64 32), the same on every yagura instance sharing this state`;
  if (!raw) throw new UserError(`${STATE_KEY_VAR} is not set: the etcd state backend encrypts the PKI with it; ${how}`);
  const key = /^[A-Za-z0-9+/]+={0,2}$/.test(raw) ? Buffer.from(raw, "base64") : Buffer.alloc(0);
  if (key.length !== 32)
    throw new UserError(`${STATE_KEY_VAR} is not 32 bytes of base64 (it decodes to ${key.length} bytes); ${how}`);
  return key;
}

/** Encrypts `data` for the store key `name`: version byte, 12-byte nonce, 16-byte tag, ciphertext. */
export function seal(key: Buffer, name: string, data: Buffer): Buffer {
  const iv = randomBytes(IV);
  const c = createCipheriv("aes-256-gcm", key, iv);
  c.setAAD(Buffer.from(name));
  const ct = Buffer.concat([c.update(data), c.final()]);
  return Buffer.concat([Buffer.from([VERSION]), iv, c.getAuthTag(), ct]);
}

/** Decrypts what `seal` made for `name`; throws a UserError when the key is wrong or the value altered. */
export function unseal(key: Buffer, name: string, sealed: Buffer): Buffer {
  if (sealed.length < 1 + IV + TAG || sealed[0] !== VERSION)
    throw new UserError(
      `${name} in the state store is not a sealed yagura secret (unknown format); restore it or delete it`,
    );
  const d = createDecipheriv("aes-256-gcm", key, sealed.subarray(1, 1 + IV));
  d.setAAD(Buffer.from(name));
  d.setAuthTag(sealed.subarray(1 + IV, 1 + IV + TAG));
  try {
    return Buffer.concat([d.update(sealed.subarray(1 + IV + TAG)), d.final()]);
  } catch {
    throw new UserError(
      `cannot decrypt ${name} from the state store with ${STATE_KEY_VAR}: it is not the key that wrote it ` +
        `(or the value was altered); use the key every other yagura instance of this state uses`,
    );
  }
}
