/**
 * sha256 of local files (Kubernetes binaries, tens of MB each), cached while a file's size, mtime
 * and inode hold. One cache for the process, so the release pinning at load time and the local
 * artifact check of every pass hash each binary once, not once each.
 */
import { createHash } from "node:crypto";
import { createReadStream, readFileSync, statSync, type Stats } from "node:fs";
import { stat } from "node:fs/promises";

const digests = new Map<string, { key: string; sha: string }>();
const keyOf = (st: Stats) => `${st.size}:${st.mtimeMs}:${st.ino}`;

/** sha256 (hex) of a file, read whole; throws when it cannot be read. */
export function sha256FileSync(path: string): string {
  const key = keyOf(statSync(path));
  const hit = digests.get(path);
  if (hit?.key === key) return hit.sha;
  const sha = createHash("sha256").update(readFileSync(path)).digest("hex");
  digests.set(path, { key, sha });
  return sha;
}

/** sha256 (hex) of a file, streamed; throws when it cannot be read. */
export async function sha256File(path: string): Promise<string> {
  const key = keyOf(await stat(path));
  const hit = digests.get(path);
  if (hit?.key === key) return hit.sha;
  const h = createHash("sha256");
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  const sha = h.digest("hex");
  digests.set(path, { key, sha });
  return sha;
}
