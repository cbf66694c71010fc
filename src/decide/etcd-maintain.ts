/**
 * etcd maintenance on a healthy cluster, one change per pass:
 *   1. a member whose node lost its data dir is removed (to be re-added as a learner)
 *   2. a member added but never started is started (one starting now is waited for)
 *   3. a learner is promoted
 *   4. a control-plane node that is not a member is added as a learner
 *   5. a member whose node is not in the control plane is removed
 *   6. a member running an outdated definition is restarted
 * Membership changes need every control-plane node reachable and every other member in sync;
 * removals and restarts need the remaining voters to keep quorum.
 */
import { quorum, votingMembers, type ClusterStatus, type EtcdMemberStatus } from "../cluster/status.js";
import { controlPlane, type ClusterSpec, type NodeSpec } from "../cluster/spec.js";
import { ETCD } from "../ops/etcd/layout.js";
import { etcdAddMemberOp, etcdPromoteOp, etcdRemoveMemberOp, type MembershipOptions } from "../ops/etcd/membership.js";
import { etcdRestartOp } from "../ops/etcd/restart.js";
import { supervisorFor } from "../supervisor/index.js";
import type { Decision, DecideOptions } from "./types.js";
import { etcdRunning, hasEtcdData, isReachable, isStarted, memberOf, nodeStatus } from "./predicates.js";

const label = (m: EtcdMemberStatus) => m.name || m.peerURLs[0] || m.id;

/** Would removing (or stopping) `m` keep a healthy quorum among the remaining voters? */
function keepsQuorum(members: readonly EtcdMemberStatus[], m: EtcdMemberStatus, removing: boolean): boolean {
  const voting = members.filter((x) => !x.isLearner);
  const size = removing && !m.isLearner ? voting.length - 1 : voting.length;
  const healthyOthers = voting.filter((x) => x.id !== m.id && x.healthy).length;
  return size > 0 && healthyOthers >= quorum(size);
}

/** The first maintenance change with work, or undefined when membership and members are as wanted. */
export function decideEtcdMaintain(spec: ClusterSpec, status: ClusterStatus, o: DecideOptions): Decision | undefined {
  const cps = controlPlane(spec);
  const members = status.etcd.members;
  const endpoints = members.filter((m) => m.healthy).flatMap((m) => m.clientURLs.slice(0, 1));
  const unreachable = cps.filter((n) => !isReachable(status, n)).map((n) => n.name);
  const mo: MembershipOptions = {
    endpoints,
    asideSuffix: o.now.toISOString().replace(/[-:.]/g, ""),
    token: o.desired.etcdToken,
  };
  const want = (n: NodeSpec) => o.desired.etcd[n.name]!;

  // Guards for a membership change; `subject` is the member being changed (its own lag is expected).
  const refuse = (what: string, subject?: EtcdMemberStatus): Decision | undefined => {
    if (unreachable.length) {
      return {
        phase: "etcd-maintenance-aborted",
        ops: [],
        message: `${what} waits: unreachable control-plane nodes: ${unreachable.join(", ")}`,
      };
    }
    const lagging = members.filter((m) => m.id !== subject?.id && (!m.healthy || !m.inSync));
    if (lagging.length) {
      return {
        phase: "etcd-maintenance-aborted",
        ops: [],
        message: `${what} waits: members not in sync: ${lagging.map(label).join(", ")}`,
        settling: true,
      };
    }
    return undefined;
  };
  const quorumRefusal = (what: string): Decision => ({
    phase: "etcd-maintenance-aborted",
    ops: [],
    message: `${what} would leave ${votingMembers(status.etcd).length - 1} voters without a healthy quorum`,
  });

  // 1. data dir wiped under a started member: remove it, the add rung brings it back as a learner.
  for (const n of cps) {
    const m = memberOf(status, n);
    const st = nodeStatus(status, n);
    if (!m || !isStarted(m) || !st?.reachable || hasEtcdData(st)) continue;
    const what = `removing ${n.name} (its data dir is gone)`;
    const r = refuse(what, m);
    if (r) return r;
    if (!keepsQuorum(members, m, true)) return quorumRefusal(what);
    return {
      phase: "etcd-remove-member",
      ops: [etcdRemoveMemberOp(m.id, n.name, { name: n.name, supervisor: want(n).supervisor }, mo)],
      message: what,
    };
  }

  // 2. added but never started (an interrupted add): finish the add. One whose node has a data dir
  // was started a moment ago and has not joined yet (a member names itself once it has): nothing can
  // be promoted before it has, and nothing is complete while it has not, so the pass waits for it.
  for (const n of cps) {
    const m = memberOf(status, n);
    if (!m || isStarted(m)) continue;
    if (hasEtcdData(nodeStatus(status, n)))
      return {
        phase: "etcd-maintenance-aborted",
        ops: [],
        message: `learner ${n.name} has not joined yet: its etcd has a data dir but has not named itself to the cluster (etcd's log on ${n.name} says why if this lasts)`,
        settling: true,
      };
    const r = refuse(`starting learner ${n.name}`, m);
    if (r) return r;
    return {
      phase: "etcd-add-member",
      ops: [etcdAddMemberOp(want(n), false, mo)],
      message: `starting the added member ${n.name}`,
    };
  }

  // 3. promote a learner on a control-plane node.
  for (const n of cps) {
    const m = memberOf(status, n);
    if (!m || !m.isLearner || !isStarted(m)) continue;
    const r = refuse(`promoting ${n.name}`, m);
    if (r) return r;
    return {
      phase: "etcd-promote",
      ops: [etcdPromoteOp(n.name, m.id, endpoints)],
      message: `promoting learner ${n.name}`,
    };
  }

  // 4. add a control-plane node that is not a member yet (before any removal).
  for (const n of cps) {
    if (memberOf(status, n)) continue;
    const r = refuse(`adding ${n.name}`);
    if (r) return r;
    const stale = hasEtcdData(nodeStatus(status, n));
    return {
      phase: "etcd-add-member",
      ops: [etcdAddMemberOp(want(n), stale, mo)],
      message: `adding ${n.name} as a learner`,
    };
  }

  // 5. remove a member that no control-plane node claims.
  const claimed = new Set(cps.map((n) => memberOf(status, n)?.id).filter((x): x is string => x !== undefined));
  // An inventory that drops half or more of the voters at once is refused as a whole, even though
  // each single removal would keep quorum: it is far more often a mistake (a wrong file, a pool
  // count typo) than a plan, and `yagura apply` carries a real shrink out step by step.
  const voters = votingMembers(status.etcd);
  const unclaimedVoters = voters.filter((m) => !claimed.has(m.id));
  if (unclaimedVoters.length > 0 && unclaimedVoters.length * 2 >= voters.length) {
    return {
      phase: "etcd-maintenance-aborted",
      ops: [],
      message:
        `the inventory drops ${unclaimedVoters.length} of ${voters.length} etcd voters at once ` +
        `(${unclaimedVoters.map(label).join(", ")}): half or more of the control plane is never removed in one change; ` +
        `check the inventory, or shrink in steps with yagura plan/apply`,
    };
  }
  for (const m of members) {
    if (claimed.has(m.id)) continue;
    const what = `removing member ${label(m)} (not in the control plane)`;
    const r = refuse(what, m);
    if (r) return r;
    if (!keepsQuorum(members, m, true)) return quorumRefusal(what);
    // A node demoted to worker is still ours: stop its etcd too. A node gone from the inventory
    // is not reachable through the pool, so only its membership is removed.
    const node = spec.nodes.find((x) => x.name === m.name && status.nodes[x.name]?.reachable);
    return {
      phase: "etcd-remove-member",
      ops: [
        etcdRemoveMemberOp(m.id, label(m), node ? { name: node.name, supervisor: supervisorFor(node) } : undefined, mo),
      ],
      message: what,
    };
  }

  // 6. restart one member whose running definition is outdated.
  for (const n of cps) {
    const st = nodeStatus(status, n);
    const m = memberOf(status, n);
    if (!st?.reachable || !m || !etcdRunning(st)) continue;
    if (st.services[ETCD.component]?.fingerprint === want(n).fingerprint) continue;
    const what = `restarting etcd on ${n.name} (outdated)`;
    const others = members.filter((x) => x.id !== m.id && !x.healthy);
    if (others.length) {
      return {
        phase: "etcd-maintenance-aborted",
        ops: [],
        message: `${what} waits: unhealthy members: ${others.map(label).join(", ")}`,
        settling: true,
      };
    }
    if (!keepsQuorum(members, m, false)) return quorumRefusal(what);
    return { phase: "etcd-restart", ops: [etcdRestartOp(want(n))], message: what };
  }
  return undefined;
}
