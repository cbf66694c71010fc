/**
 * etcd-snapshot: the ladder's scheduled snapshot (rung 10), run on the operator's machine.
 *   1. ask every member for its endpoint status through the context's admin client
 *   2. stream a snapshot from a healthy, in-sync voter (src/backup picks it), verify it, store it
 *   3. apply the environment's retention
 *   4. with reconciler.backup.upload: upload it (after verification) and apply retention remotely
 * The stream uses the admin TLS material of the pass (OpContext.etcdTls, from the same PKI the
 * loop's admin clients use); the store is the environment's backup directory. `SnapshotLocal`
 * lets tests inject all three. A failed upload fails the op (the verified local copy stays), so
 * it shows in the history and in yagura_ops_failed_total. Running the op twice only takes a
 * second snapshot.
 */
import { takeSnapshot, type MemberStatus } from "../../backup/snapshot.js";
import { applyRetention, backupDir, localSnapshotStore, type SnapshotStore } from "../../backup/store.js";
import { uploadOf, uploadWithRetention, writeUploadState, type SnapshotUpload } from "../../backup/upload.js";
import type { ClusterSpec } from "../../cluster/spec.js";
import type { EtcdTls } from "../../infra/types.js";
import { command, sequenceOp, type Op, type OpContext } from "../types.js";
import { withAdmin } from "./steps.js";

/** One member to consider: its node and client URL. */
export interface SnapshotMember {
  readonly node: string;
  readonly clientURL: string;
}

/** What the snapshot op is built from (decide fills it; pure data). */
export interface SnapshotOpOptions {
  readonly spec: ClusterSpec;
  readonly members: readonly SnapshotMember[];
  /** Snapshots kept (reconciler.backup.retention). */
  readonly retention: number;
}

/** Where the op finds the admin TLS material, the store and the upload target. */
export interface SnapshotLocal {
  tls(spec: ClusterSpec, ctx: OpContext): Promise<EtcdTls>;
  store(spec: ClusterSpec): SnapshotStore;
  /** The upload target, undefined when the inventory names none. @default uploadOf(spec) */
  upload?(spec: ClusterSpec): SnapshotUpload | undefined;
}

/** The pass's admin TLS material, the environment's backup directory and its configured upload. */
export const localState: SnapshotLocal = {
  async tls(_spec, ctx) {
    if (!ctx.etcdTls) throw new Error("the op context carries no etcd TLS material (a bug in yagura's loop wiring)");
    return ctx.etcdTls;
  },
  store: (spec) => localSnapshotStore(backupDir(spec), spec.env),
  upload: (spec) => uploadOf(spec),
};

/** Takes one verified snapshot from a healthy, in-sync member, stores it and applies retention. */
export function etcdSnapshotOp(o: SnapshotOpOptions, local: SnapshotLocal = localState): Op {
  const urls = o.members.map((m) => m.clientURL);
  return sequenceOp(
    "etcd-snapshot",
    o.members.map((m) => m.node),
    [
      command("take-snapshot", "local", async (ctx) => {
        const members = await withAdmin(ctx, urls, (admin) =>
          Promise.all(
            o.members.map(async (m): Promise<MemberStatus & SnapshotMember> => ({
              ...m,
              status: await admin
                .endpointStatus(m.clientURL)
                .catch((err: Error) => ({ endpoint: m.clientURL, healthy: false, error: err.message })),
            })),
          ),
        );
        const store = local.store(o.spec);
        // Resolved before the stream, so missing credentials fail before a snapshot is taken.
        const up = (local.upload ?? localState.upload!)(o.spec);
        const { entry } = await takeSnapshot({
          env: o.spec.env,
          tls: await local.tls(o.spec, ctx),
          members,
          store,
          now: ctx.now,
        });
        await applyRetention(store, o.spec.env, o.retention);
        if (!up || !entry.meta) return;
        const at = () => ctx.now().toISOString();
        try {
          await uploadWithRetention(
            up,
            { ...entry, meta: entry.meta },
            o.spec.env,
            o.spec.inventory.reconciler?.backup?.upload?.retention ?? o.retention,
          );
          writeUploadState(store.location, { name: entry.name, location: up.location, at: at(), ok: true });
        } catch (err) {
          const error = (err as Error).message;
          writeUploadState(store.location, { name: entry.name, location: up.location, at: at(), ok: false, error });
          throw new Error(`snapshot ${entry.name} is kept in ${store.location}, but its upload failed: ${error}`);
        }
      }),
    ],
  );
}
