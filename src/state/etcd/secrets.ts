/**
 * The PKI in the state etcd: every file of the PKI directory sealed (AES-256-GCM, crypto.ts) under
 * `<prefix>/<env>/secrets/<file name>`. For a pass the files are opened into a fresh 0700 temp
 * directory (files 0600), the pass works there as on the local PKI, and new or changed files go
 * back in one fenced transaction. The directory is removed when the pass's preparation ends.
 */
import { createHash } from "node:crypto";
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Etcd3, IOperation } from "etcd3";
import { seal, unseal } from "../crypto.js";

const FILE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const digest = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/** Where the sealed files live and how they are opened. */
export interface SecretStore {
  readonly client: Etcd3;
  /** `<prefix>/<env>/secrets/` */
  readonly secretsPrefix: string;
  /** The sealing key (throws when it is not configured). */
  readonly key: () => Buffer;
}

/** Opens every sealed file into `dir` (0600); returns the digest of each by name. */
export async function pullSecrets(s: SecretStore, dir: string): Promise<Map<string, string>> {
  const all = await s.client.getAll().prefix(s.secretsPrefix).buffers();
  const got = new Map<string, string>();
  for (const [k, sealed] of Object.entries(all)) {
    const name = k.slice(s.secretsPrefix.length);
    if (!FILE.test(name)) continue; // not ours; never let a key name a path outside dir
    const data = unseal(s.key(), k, sealed);
    await writeFile(join(dir, name), data, { mode: 0o600, flag: "wx" });
    got.set(name, digest(data));
  }
  return got;
}

/** Put operations for the files of `dir` that are new or differ from `pulled`. */
export async function changedSecrets(s: SecretStore, dir: string, pulled: Map<string, string>): Promise<IOperation[]> {
  const ops: IOperation[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    // Dot files are the PKI's own temp files of an interrupted write.
    if (!e.isFile() || !FILE.test(e.name)) continue;
    const data = await readFile(join(dir, e.name));
    if (pulled.get(e.name) === digest(data)) continue;
    const k = s.secretsPrefix + e.name;
    ops.push(s.client.put(k).value(seal(s.key(), k, data)));
  }
  return ops;
}

/**
 * Runs `fn` on a private copy of the PKI; `commit` stores what changed (fenced) unless it is
 * undefined (a read-only use: changes are dropped).
 */
export async function withSecretsDir<T>(
  s: SecretStore,
  fn: (dir: string) => Promise<T>,
  commit?: (ops: IOperation[]) => Promise<void>,
): Promise<T> {
  s.key(); // a missing or malformed key fails before anything is written
  const dir = await mkdtemp(join(tmpdir(), "yagura-pki-"));
  try {
    await chmod(dir, 0o700);
    const pulled = await pullSecrets(s, dir);
    const out = await fn(dir);
    if (commit) {
      const ops = await changedSecrets(s, dir, pulled);
      if (ops.length > 0) await commit(ops);
    }
    return out;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
