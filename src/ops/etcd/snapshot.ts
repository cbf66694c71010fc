/**
 * etcd-snapshot: the ladder's scheduled snapshot (rung 10), run on the operator's machine.
 *   1. ask every member for its endpoint status through the context's admin client
 *   2. stream a snapshot from a healthy, in-sync voter (src/backup picks it), verify it, store it
 *   3. apply the environment's retention
 * The stream needs the admin client's TLS material and the store, which OpContext does not carry
 * (it has shell, admin clients, sleep and a clock). Both are resolved when the command runs, from
 * the environment's local state, exactly as `yagura etcd snapshot` resolves them; `SnapshotLocal`
 * lets tests inject them instead. Running the op twice only takes a second snapshot.
 */
import { takeSnapshot, type MemberStatus } from "../../backup/snapshot.js";
import { applyRetention, backupDir, localSnapshotStore, type SnapshotStore } from "../../backup/store.js";
import { envPaths } from "../../cluster/paths.js";
import type { ClusterSpec } from "../../cluster/spec.js";
import type { EtcdTls } from "../../infra/types.js";
import { etcdAdminClient, openPki } from "../../pki/index.js";
import { durationMs } from "../../run/material.js";
import { command, sequenceOp, type Op } from "../types.js";
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

/** Where the op finds the admin TLS material and the store; the default reads the environment's local state. */
export interface SnapshotLocal {
  tls(spec: ClusterSpec, now: Date): Promise<EtcdTls>;
  store(spec: ClusterSpec): SnapshotStore;
}

/** The environment's PKI (admin client certificate, reused; issued only if missing) and its local store. */
export const localState: SnapshotLocal = {
  async tls(spec, now) {
    const renew = durationMs(spec.inventory.reconciler?.certRenewBefore ?? "30d");
    const c = await etcdAdminClient(openPki(envPaths(spec.env).pkiDir), now, renew);
    return { ca: c.caPem, cert: c.certPem, key: c.keyPem };
  },
  store: (spec) => localSnapshotStore(backupDir(spec), spec.env),
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
        await takeSnapshot({
          env: o.spec.env,
          tls: await local.tls(o.spec, ctx.now()),
          members,
          store,
          now: ctx.now,
        });
        await applyRetention(store, o.spec.env, o.retention);
      }),
    ],
  );
}
