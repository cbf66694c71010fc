/**
 * Copying verified snapshots off the machine: a SnapshotUpload interface and its S3-compatible
 * implementation. The local directory store stays the primary copy; with `reconciler.backup.upload`
 * each new snapshot is also uploaded (the .db first, its JSON sidecar last, so a listed sidecar
 * means a complete upload) and retention is applied in the bucket too. Credentials come from the
 * environment variables the inventory names, never from the inventory itself.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { ClusterSpec } from "../cluster/spec.js";
import { UserError } from "../cli/errors.js";
import { s3Client, type S3Client } from "./s3.js";
import { newestFirst, parseSnapshotName, retentionVictims, type SnapshotEntry, type SnapshotMeta } from "./store.js";

/** A place snapshots are copied to. */
export interface SnapshotUpload {
  /** For messages: `s3://bucket/prefix at https://host`. */
  readonly location: string;
  /** Uploads a stored, verified snapshot and its sidecar. */
  upload(entry: SnapshotEntry & { meta: SnapshotMeta }): Promise<void>;
  /** Names of the environment's uploaded snapshots with a sidecar (complete), newest first. */
  list(): Promise<string[]>;
  /** Downloads one snapshot to a new local file (0600). */
  download(name: string, file: string): Promise<void>;
  /** Deletes one snapshot and its sidecar. */
  remove(name: string): Promise<void>;
}

/** The S3 implementation: keys `<prefix><snapshot name>` and `<prefix><snapshot name>.json`. */
export function s3Upload(client: S3Client, prefix: string, env: string): SnapshotUpload {
  return {
    location: `${client.location.replace(/^s3:\/\/([^ ]+)/, `s3://$1/${prefix}`)}`,
    async upload(entry) {
      await client.putFile(prefix + entry.name, entry.path);
      await client.putText(`${prefix}${entry.name}.json`, JSON.stringify(entry.meta, null, 2) + "\n");
    },
    async list() {
      const keys = new Set((await client.list(prefix)).map((o) => o.key.slice(prefix.length)));
      const names = [...keys].filter((k) => parseSnapshotName(k)?.env === env && keys.has(`${k}.json`));
      return newestFirst(names);
    },
    download: (name, file) => client.getToFile(prefix + name, file),
    async remove(name) {
      if (!parseSnapshotName(name)) throw new Error(`not a snapshot file name: ${name}`);
      // Sidecar first: a half-removed snapshot then no longer lists as complete.
      await client.remove(`${prefix}${name}.json`);
      await client.remove(prefix + name);
    },
  };
}

/** The upload of an environment from its inventory and `vars` (process.env); undefined without one. */
export function uploadOf(spec: ClusterSpec, vars: NodeJS.ProcessEnv = process.env): SnapshotUpload | undefined {
  const u = spec.inventory.reconciler?.backup?.upload;
  if (!u) return undefined;
  const missing = [u.accessKeyIdEnv, u.secretAccessKeyEnv].filter((v) => !vars[v]);
  if (missing.length)
    throw new UserError(
      `reconciler.backup.upload needs the S3 credentials in ${missing.join(" and ")}: set ${missing.length > 1 ? "them" : "it"} in yagura's environment`,
    );
  const client = s3Client({
    endpoint: u.endpoint,
    bucket: u.bucket,
    region: u.region,
    credentials: { accessKeyId: vars[u.accessKeyIdEnv]!, secretAccessKey: vars[u.secretAccessKeyEnv]! },
  });
  return s3Upload(client, u.prefix, spec.env);
}

/** Uploads `entry`, then keeps the newest `keep` in the remote; returns the names removed there. */
export async function uploadWithRetention(
  up: SnapshotUpload,
  entry: SnapshotEntry & { meta: SnapshotMeta },
  env: string,
  keep: number,
): Promise<string[]> {
  await up.upload(entry);
  const victims = retentionVictims(await up.list(), env, keep);
  for (const v of victims) await up.remove(v);
  return victims;
}

/** The outcome of the last upload attempt, kept next to the local snapshots for metrics and status. */
export interface UploadState {
  readonly name: string;
  readonly location: string;
  readonly at: string;
  readonly ok: boolean;
  readonly error?: string;
}

/** `<backup dir>/.last-upload.json` */
export const uploadStatePath = (backupDir: string): string => join(backupDir, ".last-upload.json");

/** Records the last upload attempt (0600; it holds no secret, but sits among files that do). */
export function writeUploadState(backupDir: string, s: UploadState): void {
  const file = uploadStatePath(backupDir);
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, JSON.stringify(s) + "\n", { mode: 0o600 });
}

/** The last upload attempt, or undefined when none was recorded. */
export function readUploadState(backupDir: string): UploadState | undefined {
  try {
    return JSON.parse(readFileSync(uploadStatePath(backupDir), "utf8")) as UploadState;
  } catch {
    return undefined;
  }
}
