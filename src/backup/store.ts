/**
 * Where etcd snapshots are kept: a small SnapshotStore interface (so an object store can come
 * later) and the local directory implementation that is the default. A snapshot holds every
 * Secret of the cluster, so files and their directory are private to the operator (0600 / 0700).
 */
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import type { ClusterSpec } from "../cluster/spec.js";
import { envPaths } from "../cluster/paths.js";

/** What the JSON sidecar of a snapshot records. */
export interface SnapshotMeta {
  readonly env: string;
  /** etcd revision the snapshot was taken at (from `etcdctl snapshot status`). */
  readonly revision: number;
  /** Number of keys in the snapshot (etcdctl's totalKey). */
  readonly keys: number;
  /** etcd's own hash of the database (etcdctl's hash). */
  readonly hash: number;
  /** Bytes of the .db file. */
  readonly size: number;
  /** sha256 (hex) of the .db file as stored. */
  readonly sha256: string;
  /** Node name of the member it was streamed from. */
  readonly member: string;
  /** ISO time the stream began. */
  readonly takenAt: string;
}

/** One stored snapshot. */
export interface SnapshotEntry {
  /** File name, `<env>-<UTC timestamp>-rev<revision>.db`. */
  readonly name: string;
  /** A local path to read the .db from. */
  readonly path: string;
  /** The sidecar, when it is there and parses. */
  readonly meta?: SnapshotMeta;
}

/** Keeps snapshots of one environment. */
export interface SnapshotStore {
  /** Where the snapshots are (for messages). */
  readonly location: string;
  /** A private temp path, on the same file system, to stream a new snapshot into. */
  tempPath(): string;
  /** Takes ownership of a verified temp file and records its sidecar. */
  put(tempFile: string, meta: SnapshotMeta): Promise<SnapshotEntry>;
  /** Every snapshot of the environment, newest first. */
  list(): Promise<SnapshotEntry[]>;
  /** Deletes one snapshot and its sidecar. */
  remove(name: string): Promise<void>;
}

/** `20261123T150614Z` for a date: sortable, and legal in every file name. */
export function utcStamp(d: Date): string {
  return d
    .toISOString()
    .replace(/\.\d{3}Z$/, "Z")
    .replace(/[-:]/g, "");
}

/** The file name of a snapshot. */
export function snapshotName(env: string, takenAt: Date, revision: number): string {
  return `${env}-${utcStamp(takenAt)}-rev${revision}.db`;
}

const NAME = /^(.+)-(\d{8}T\d{6}Z)-rev(\d+)\.db$/;

/** Parses a snapshot file name back into env, timestamp and revision (undefined when not ours). */
export function parseSnapshotName(name: string): { env: string; stamp: string; revision: number } | undefined {
  const m = NAME.exec(name);
  return m ? { env: m[1]!, stamp: m[2]!, revision: Number(m[3]) } : undefined;
}

/** Newest first: by timestamp, then revision (two snapshots in one second). */
export function newestFirst(names: readonly string[]): string[] {
  const key = (n: string) => {
    const p = parseSnapshotName(n)!;
    return `${p.stamp}-${String(p.revision).padStart(20, "0")}`;
  };
  return [...names].sort((a, b) => (key(a) < key(b) ? 1 : key(a) > key(b) ? -1 : 0));
}

/** Which snapshots retention deletes: all but the newest `keep` of `env` (pure). */
export function retentionVictims(names: readonly string[], env: string, keep: number): string[] {
  if (!Number.isInteger(keep) || keep < 1) throw new Error(`retention must be at least 1, got ${keep}`);
  const ours = names.filter((n) => parseSnapshotName(n)?.env === env);
  return newestFirst(ours).slice(keep);
}

/** The snapshot directory of an environment: reconciler.backup.dir, else <state>/<env>/backups. */
export function backupDir(spec: ClusterSpec, stateRoot?: string): string {
  return spec.inventory.reconciler?.backup?.dir ?? join(envPaths(spec.env, stateRoot).dir, "backups");
}

/** The default store: one local directory, files 0600, sidecar `<name>.json`. */
export function localSnapshotStore(dir: string, env: string): SnapshotStore {
  const ensure = () => {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
  };
  const readMeta = (name: string): SnapshotMeta | undefined => {
    try {
      return JSON.parse(readFileSync(join(dir, `${name}.json`), "utf8")) as SnapshotMeta;
    } catch {
      return undefined;
    }
  };
  return {
    location: dir,
    tempPath() {
      ensure();
      return join(dir, `.${env}-incoming-${process.pid}-${Date.now()}.db`);
    },
    async put(tempFile, meta) {
      ensure();
      const name = snapshotName(env, new Date(meta.takenAt), meta.revision);
      const path = join(dir, name);
      chmodSync(tempFile, 0o600);
      // Sidecar first: a .db without one is still listed, but one with a sidecar is known-verified.
      writeFileSync(join(dir, `${name}.json`), JSON.stringify(meta, null, 2) + "\n", { mode: 0o600 });
      renameSync(tempFile, path);
      return { name, path, meta };
    },
    async list() {
      if (!existsSync(dir)) return [];
      const names = readdirSync(dir).filter(
        (n) => parseSnapshotName(n)?.env === env && statSync(join(dir, n)).isFile(),
      );
      return newestFirst(names).map((name) => ({ name, path: join(dir, name), meta: readMeta(name) }));
    },
    async remove(name) {
      if (!parseSnapshotName(name)) throw new Error(`not a snapshot file name: ${name}`);
      rmSync(join(dir, name), { force: true });
      rmSync(join(dir, `${name}.json`), { force: true });
    },
  };
}

/** Applies retention to a store; returns the names deleted. */
export async function applyRetention(store: SnapshotStore, env: string, keep: number): Promise<string[]> {
  const victims = retentionVictims(
    (await store.list()).map((e) => e.name),
    env,
    keep,
  );
  for (const v of victims) await store.remove(v);
  return victims;
}
