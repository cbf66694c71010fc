/**
 * etcd's side of observe: the member list and, per member, its endpoint status, through the
 * admin client certificate. A member is in sync when its applied raft index is within
 * IN_SYNC_LAG of the leader's. No answer at all is status (an error string), not an exception.
 */
import type { EtcdClusterStatus, EtcdMemberStatus } from "../cluster/status.js";
import type { EtcdAdmin } from "../infra/types.js";

/** How far (raft entries) a member may trail the leader and still count as in sync. */
export const IN_SYNC_LAG = 100;

/** Observes the cluster through any of `endpoints`. */
export async function observeEtcd(
  open: (endpoints: readonly string[]) => EtcdAdmin,
  endpoints: readonly string[],
): Promise<EtcdClusterStatus> {
  if (endpoints.length === 0) return { members: [], error: "no control-plane node" };
  const admin = open(endpoints);
  try {
    let list;
    try {
      list = await admin.members();
    } catch (err) {
      return { members: [], error: `no etcd endpoint answered: ${(err as Error).message}` };
    }
    const statuses = await Promise.all(
      list.map(async (m) => {
        const url = m.clientURLs[0];
        if (!url) return { endpoint: "", healthy: false, error: "never started" };
        return admin.endpointStatus(url).catch((err: Error) => ({ endpoint: url, healthy: false, error: err.message }));
      }),
    );
    const leaderId = statuses.find((s) => s.healthy && s.leaderId && s.leaderId !== "0")?.leaderId;
    const applied = (s: (typeof statuses)[number]) =>
      "raftAppliedIndex" in s ? (s.raftAppliedIndex ?? ("raftIndex" in s ? s.raftIndex : undefined)) : undefined;
    const leaderIdx = list.findIndex((m) => sameId(m.id, leaderId));
    const leaderApplied = leaderIdx >= 0 ? applied(statuses[leaderIdx]!) : undefined;
    const members: EtcdMemberStatus[] = list.map((m, i) => {
      const s = statuses[i]!;
      const a = applied(s);
      const inSync = s.healthy && a !== undefined && leaderApplied !== undefined && leaderApplied - a <= IN_SYNC_LAG;
      return {
        id: m.id,
        name: m.name,
        peerURLs: m.peerURLs,
        clientURLs: m.clientURLs,
        isLearner: m.isLearner,
        healthy: s.healthy,
        inSync,
        ...(s.error ? { error: s.error } : {}),
      };
    });
    return { members, ...(leaderId ? { leaderId } : {}) };
  } finally {
    await admin.close().catch(() => undefined);
  }
}

/** Member ids may come as decimal or hex strings; compare them as numbers. */
export function sameId(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined) return false;
  const n = (x: string) =>
    /^[0-9]+$/.test(x)
      ? BigInt(x)
      : /^(0x)?[0-9a-f]+$/i.test(x)
        ? BigInt(x.startsWith("0x") ? x : "0x" + x)
        : undefined;
  const x = n(a);
  const y = n(b);
  return x !== undefined && x === y;
}
