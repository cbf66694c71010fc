/**
 * Rung 10: scheduled etcd snapshots. On a healthy cluster whose maintenance is done, a snapshot is
 * taken when none exists yet or the newest is `reconciler.backup.schedule` old. The age comes from
 * observe (`status.backup`) and the time from `now`, so this stays pure; when observe did not look
 * at the store (`status.backup` absent) there is nothing to decide on, and the rung stays quiet.
 */
import { due } from "../backup/schedule.js";
import { etcdHealthy, type ClusterStatus } from "../cluster/status.js";
import { controlPlane, type ClusterSpec } from "../cluster/spec.js";
import { clientURL } from "../ops/etcd/layout.js";
import { etcdSnapshotOp } from "../ops/etcd/snapshot.js";
import type { Decision, DecideOptions } from "./types.js";
import { memberOf } from "./predicates.js";

/** The schedule and retention of an environment, with the inventory's defaults. */
export function backupPolicy(spec: ClusterSpec): { schedule: string; retention: number } {
  const b = spec.inventory.reconciler?.backup;
  return { schedule: b?.schedule ?? "15m", retention: b?.retention ?? 16 };
}

/** `etcd-snapshot` when one is due, else undefined (the ladder goes on to its result). */
export function decideEtcdSnapshot(spec: ClusterSpec, status: ClusterStatus, o: DecideOptions): Decision | undefined {
  const backup = status.backup;
  if (!backup || !etcdHealthy(status.etcd)) return undefined;
  const { schedule, retention } = backupPolicy(spec);
  if (backup.error) {
    return { phase: "etcd-snapshot-aborted", ops: [], message: `${backup.error}; fix the backup directory` };
  }
  // An unreadable time (a hand-edited sidecar) must not read as "never due": count it as no snapshot.
  const parsed = backup.lastTakenAt === undefined ? undefined : new Date(backup.lastTakenAt);
  const last = parsed && !Number.isNaN(parsed.getTime()) ? parsed : undefined;
  if (!due(o.now, last, schedule)) return undefined;
  const members = controlPlane(spec).filter((n) => {
    const m = memberOf(status, n);
    return m !== undefined && !m.isLearner && m.healthy && m.inSync;
  });
  if (members.length === 0) {
    return {
      phase: "etcd-snapshot-aborted",
      ops: [],
      message: "a snapshot is due but no control-plane member is a healthy, in-sync voter",
    };
  }
  return {
    phase: "etcd-snapshot",
    ops: [
      etcdSnapshotOp({
        spec,
        members: members.map((n) => ({ node: n.name, clientURL: clientURL(n) })),
        retention,
      }),
    ],
    message: last
      ? `the newest etcd snapshot (${backup.lastTakenAt}) is older than the schedule (${schedule})`
      : parsed
        ? `the newest etcd snapshot's time ${JSON.stringify(backup.lastTakenAt)} is unreadable`
        : "no etcd snapshot yet",
  };
}
