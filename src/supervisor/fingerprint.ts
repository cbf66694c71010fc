/** Component fingerprints: what a component runs, hashed, and where the hash lives on the node. */
import { createHash } from "node:crypto";
import { posix } from "node:path";
import { NODE_PATHS } from "../cluster/paths.js";
import type { ManagedFile } from "./types.js";

/** Directory on the node holding one fingerprint file per component. */
export const FINGERPRINT_DIR = posix.join(NODE_PATHS.yaguraDir, "fingerprints");

/** Path of a component's fingerprint file on the node. */
export function fingerprintPath(component: string): string {
  return posix.join(FINGERPRINT_DIR, component);
}

/** sha256 (hex) of a string. */
export function sha256(text: string | Buffer): string {
  return createHash("sha256").update(text).digest("hex");
}

/** Fingerprint of a component: its rendered definition files (paths, modes and contents). */
export function fingerprintFiles(files: readonly ManagedFile[]): string {
  const h = createHash("sha256");
  for (const f of [...files].sort((a, b) => a.path.localeCompare(b.path))) {
    h.update(`${f.path}\0${f.mode.toString(8)}\0${f.content.length}\0`).update(f.content);
  }
  return h.digest("hex");
}
