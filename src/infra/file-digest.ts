/**
 * sha256 of local files (Kubernetes binaries, tens of MB each), and the version a binary reports,
 * cached while a file's size, mtime, inode and ctime hold. The cache is kept for the process and on disk (`file-digests.json` in
 * yagura's cache directory), so the release pinning at load time, the local artifact check of
 * every pass and every later command hash each binary once, not once each: hashing the five
 * binaries of a release costs seconds of CPU, more than the rest of `validate`; starting
 * kube-apiserver for its `--version` costs a third of a second on every command.
 *
 * Any write to a file, a replacement or a `touch` changes its ctime, which no user-space call can
 * set back, so a stale entry is never taken. The disk file is best effort: unreadable or not
 * writable, files are simply hashed.
 */
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, mkdirSync, readFileSync, renameSync, statSync, writeFileSync, type Stats } from "node:fs";
import { stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { stateRoot } from "../cluster/paths.js";

/** Entries kept on disk (a few releases' worth of binaries). */
const MAX_ENTRIES = 256;

/** Where the digests are kept: $YAGURA_CACHE_DIR, else `.cache` under the state root. */
export function digestCachePath(env: { readonly YAGURA_CACHE_DIR?: string } = process.env): string {
  const dir = env.YAGURA_CACHE_DIR;
  return join(dir !== undefined && dir !== "" ? resolve(dir) : join(stateRoot(), ".cache"), "file-digests.json");
}

type Entry = { key: string; sha?: string; version?: string };
let digests: Map<string, Entry> | undefined;
const keyOf = (st: Stats) => `${st.size}:${st.mtimeMs}:${st.ino}:${st.ctimeMs}`;

function cache(): Map<string, Entry> {
  if (digests) return digests;
  digests = new Map();
  try {
    const raw = JSON.parse(readFileSync(digestCachePath(), "utf8")) as Record<string, Entry>;
    for (const [path, e] of Object.entries(raw)) {
      if (
        typeof e?.key === "string" &&
        (e.sha === undefined || /^[0-9a-f]{64}$/.test(String(e.sha))) &&
        (e.version === undefined || typeof e.version === "string")
      )
        digests.set(path, e);
    }
  } catch {
    // none yet, or unreadable: start empty
  }
  return digests;
}

/** Records what is known of `path` under its identity `key`, keeping what was known under the same key. */
function remember(path: string, key: string, known: Omit<Entry, "key">): void {
  const m = cache();
  const old = m.get(path);
  m.delete(path);
  m.set(path, { ...(old?.key === key ? old : {}), ...known, key });
  while (m.size > MAX_ENTRIES) m.delete(m.keys().next().value!);
  const file = digestCachePath();
  const tmp = `${file}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(tmp, JSON.stringify(Object.fromEntries(m)) + "\n", { mode: 0o644 });
    renameSync(tmp, file);
  } catch {
    // a read-only state directory: the digests stay for this process only
  }
}

const hit = (path: string, key: string): Entry | undefined => {
  const e = cache().get(resolve(path));
  return e?.key === key ? e : undefined;
};

/** sha256 (hex) of a file, read whole; throws when it cannot be read. */
export function sha256FileSync(path: string): string {
  const key = keyOf(statSync(path));
  const known = hit(path, key)?.sha;
  if (known) return known;
  const sha = createHash("sha256").update(readFileSync(path)).digest("hex");
  remember(resolve(path), key, { sha });
  return sha;
}

/** sha256 (hex) of a file, streamed; throws when it cannot be read. */
export async function sha256File(path: string): Promise<string> {
  const key = keyOf(await stat(path));
  const known = hit(path, key)?.sha;
  if (known) return known;
  const h = createHash("sha256");
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  const sha = h.digest("hex");
  remember(resolve(path), key, { sha });
  return sha;
}

/**
 * The version a binary reports, asked with `ask` (which runs it) once per file identity; a file
 * that cannot be read, or an `ask` that answers undefined, is not remembered.
 */
export function binaryVersionSync(path: string, ask: (path: string) => string | undefined): string | undefined {
  let key: string;
  try {
    key = keyOf(statSync(path));
  } catch {
    return undefined;
  }
  const known = hit(path, key)?.version;
  if (known !== undefined) return known;
  const version = ask(path);
  if (version !== undefined) remember(resolve(path), key, { version });
  return version;
}
