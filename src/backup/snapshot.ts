/**
 * Taking an etcd snapshot: pick a healthy, in-sync voting member, stream its snapshot to this
 * machine, verify it, then hand it to the store and apply retention.
 *
 * Why stream over gRPC (etcd3's Maintenance.Snapshot) instead of `etcdctl snapshot save` on the
 * node and a copy back: the file never rests on a node's disk (it holds every Secret of the
 * cluster), no node needs etcdctl or free space for it, and NodeShell has no binary download.
 * The stream is what `etcdctl snapshot save` itself receives, sha256 trailer included, so
 * `etcdctl snapshot restore` checks it the same way.
 */
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream, openSync, readSync, closeSync, rmSync, statSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { Etcd3, type IOptions } from "etcd3";
import { OperationFailedError, UserError } from "../cli/errors.js";
import { ETCD_GRPC_OPTIONS } from "../infra/etcd.js";
import type { EtcdEndpointStatus, EtcdTls } from "../infra/types.js";
import { IN_SYNC_LAG } from "../observe/etcd.js";
import type { SnapshotEntry, SnapshotMeta, SnapshotStore } from "./store.js";

/** A member's endpoint status, with the node it runs on. */
export interface MemberStatus {
  readonly node: string;
  readonly status: EtcdEndpointStatus;
}

/**
 * The member to snapshot (pure): healthy, a voter, with a leader, applied index within
 * IN_SYNC_LAG of the leader's. A follower is preferred so the leader keeps its disk and network
 * for the cluster; among followers the most up to date. Undefined when none qualifies.
 */
export function pickSnapshotMember(members: readonly MemberStatus[]): MemberStatus | undefined {
  const ok = members.filter(
    (m) => m.status.healthy && !m.status.isLearner && m.status.leaderId && m.status.leaderId !== "0",
  );
  const leader = ok.find((m) => m.status.memberId === m.status.leaderId);
  const leaderApplied = leader?.status.raftAppliedIndex ?? Math.max(...ok.map((m) => m.status.raftAppliedIndex ?? 0));
  const inSync = ok.filter(
    (m) => m.status.raftAppliedIndex !== undefined && leaderApplied - m.status.raftAppliedIndex <= IN_SYNC_LAG,
  );
  const rank = (m: MemberStatus) => (m === leader ? 0 : 1);
  return [...inSync].sort(
    (a, b) => rank(b) - rank(a) || (b.status.raftAppliedIndex ?? 0) - (a.status.raftAppliedIndex ?? 0),
  )[0];
}

// One attempt only: a snapshot stream that broke is started again by the caller, never resumed.
const once = {
  execute: <T>(fn: (c: { signal: AbortSignal; attempt: number }) => T) =>
    fn({ signal: new AbortController().signal, attempt: 0 }),
};

/** Streams the snapshot of the member at `endpoint` into `file` (created 0600); resolves with its size. */
export async function streamSnapshot(
  endpoint: string,
  tls: EtcdTls,
  file: string,
  timeoutMs = 600_000,
): Promise<number> {
  const opts: IOptions = {
    hosts: [endpoint],
    grpcOptions: ETCD_GRPC_OPTIONS,
    credentials: {
      rootCertificate: Buffer.from(tls.ca),
      certChain: Buffer.from(tls.cert),
      privateKey: Buffer.from(tls.key),
    },
    dialTimeout: 5000,
    faultHandling: { global: once as never, host: () => once as never },
  };
  const client = new Etcd3(opts);
  const out = createWriteStream(file, { mode: 0o600, flags: "wx" });
  try {
    const stream = await client.maintenance.snapshot({ deadline: Date.now() + timeoutMs });
    let size = 0;
    await new Promise<void>((resolve, reject) => {
      // gRPC's readable stream can pause: without it a database of gigabytes would pile up in memory.
      const flow = stream as unknown as { pause?: () => void; resume?: () => void };
      stream.on("data", (r) => {
        size += r.blob.length;
        if (!out.write(r.blob) && flow.pause && flow.resume) {
          flow.pause();
          out.once("drain", () => flow.resume!());
        }
      });
      stream.on("error", reject);
      stream.on("end", () => resolve());
    });
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    return size;
  } catch (err) {
    out.destroy();
    rmSync(file, { force: true });
    throw err;
  } finally {
    client.close();
  }
}

/** What verification found in a snapshot file. */
export interface SnapshotCheck {
  readonly revision: number;
  readonly keys: number;
  readonly hash: number;
  readonly size: number;
  readonly sha256: string;
}

async function sha256Of(file: string, end?: number): Promise<string> {
  const h = createHash("sha256");
  if (end === undefined || end > 0) {
    for await (const chunk of createReadStream(file, end === undefined ? {} : { start: 0, end: end - 1 }))
      h.update(chunk as Buffer);
  }
  return h.digest("hex");
}

/**
 * Verifies a snapshot file: etcd's sha256 trailer (the last 32 bytes hash the database before
 * them, as etcd's snapshot stream writes it) and `etcdctl snapshot status -w json`, which opens
 * the database and reports hash, revision and key count. Throws with the reason when it fails.
 */
export async function verifySnapshot(file: string): Promise<SnapshotCheck> {
  const size = statSync(file).size;
  if (size < 512 + 32 || size % 512 !== 32) {
    throw new Error(
      `${file}: ${size} bytes is not an etcd snapshot with its sha256 trailer (a truncated or foreign file)`,
    );
  }
  const trailer = Buffer.alloc(32);
  const fd = openSync(file, "r");
  try {
    readSync(fd, trailer, 0, 32, size - 32);
  } finally {
    closeSync(fd);
  }
  const body = await sha256Of(file, size - 32);
  if (body !== trailer.toString("hex"))
    throw new Error(`${file}: sha256 trailer does not match the database (the file is corrupt)`);
  const r = spawnSync("etcdctl", ["snapshot", "status", "-w", "json", file], {
    env: { ...process.env, ETCDCTL_API: "3" },
    encoding: "utf8",
    timeout: 120_000,
  });
  if (r.error)
    throw new UserError(
      `cannot run etcdctl to verify the snapshot (${r.error.message}); install etcd-client (etcdctl 3.4+) on this machine`,
    );
  if (r.status !== 0) throw new Error(`${file}: etcdctl snapshot status failed: ${(r.stderr || r.stdout).trim()}`);
  const s = JSON.parse(r.stdout) as { hash: number; revision: number; totalKey: number };
  // Revision 0 is a cluster nobody has written to yet (a fresh etcd): a valid snapshot, and the
  // ladder's first scheduled one. The trailer above already proved the file whole.
  if (!(s.revision >= 0) || !(s.totalKey >= 0))
    throw new Error(`${file}: etcdctl reports revision ${s.revision}, ${s.totalKey} keys`);
  return { revision: s.revision, keys: s.totalKey, hash: s.hash, size, sha256: await sha256Of(file) };
}

/** Everything takeSnapshot needs from the caller. */
export interface TakeSnapshotInput {
  readonly env: string;
  readonly tls: EtcdTls;
  /** Status of every control-plane member (the caller asks EtcdAdmin.endpointStatus). */
  readonly members: readonly (MemberStatus & { readonly clientURL: string })[];
  readonly store: SnapshotStore;
  readonly now: () => Date;
}

/** Takes, verifies and stores one snapshot; the temp file is removed on any failure. */
export async function takeSnapshot(i: TakeSnapshotInput): Promise<{ entry: SnapshotEntry; ms: number }> {
  const pick = pickSnapshotMember(i.members);
  if (!pick) {
    const why = i.members
      .map((m) => `${m.node}: ${m.status.healthy ? "lagging or a learner" : (m.status.error ?? "unhealthy")}`)
      .join("; ");
    throw new OperationFailedError(
      `no healthy, in-sync voting member to snapshot (${why}); run yagura reconcile ${i.env} to repair etcd, then snapshot again`,
    );
  }
  const url = i.members.find((m) => m.node === pick.node)!.clientURL;
  const tmp = i.store.tempPath();
  const takenAt = i.now();
  const t0 = performance.now();
  try {
    await streamSnapshot(url, i.tls, tmp);
    const c = await verifySnapshot(tmp);
    const meta: SnapshotMeta = {
      env: i.env,
      revision: c.revision,
      keys: c.keys,
      hash: c.hash,
      size: c.size,
      sha256: c.sha256,
      member: pick.node,
      takenAt: takenAt.toISOString(),
    };
    const entry = await i.store.put(tmp, meta);
    return { entry, ms: performance.now() - t0 };
  } finally {
    rmSync(tmp, { force: true });
  }
}
