/**
 * Crash-safe local file writes for the PKI: a reader sees the old file or the new one, never half
 * of either, and private keys are 0600 from the first byte (the temp file is created with the mode).
 */
import { randomBytes } from "node:crypto";
import { mkdir, open, rename, rm, chmod } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/** Creates a directory (and parents) and forces its mode, since mkdir's mode is masked by umask. */
export async function ensureDir(dir: string, mode = 0o700): Promise<void> {
  await mkdir(dir, { recursive: true, mode });
  await chmod(dir, mode);
}

/** Writes `data` to `path` atomically: temp file with `mode`, fsync, rename, fsync of the directory. */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode: number): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  const fh = await open(tmp, "wx", mode);
  try {
    await fh.chmod(mode); // umask may have narrowed or (for 0644) not matter; be exact
    await fh.writeFile(data);
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  // The rename is only durable once the directory entry is on disk.
  const dh = await open(dir, "r");
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}
