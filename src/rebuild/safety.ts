/**
 * The refusals of a rebuild, each with its reason and the safe alternative:
 *   - etcd cannot be observed while the control plane changes;
 *   - half or more of the control plane removed at once;
 *   - a control-plane leave (replace or remove) that would leave the voters without a healthy quorum;
 *   - fewer Ready workers than cluster.minReadyWorkers during or after the change;
 *   - a node yagura cannot rebuild (a static machine outside the lab).
 * Pure: it simulates the plan's order (adds first, then replaces one at a time, then removes).
 */
import { quorum, type ClusterStatus } from "../cluster/status.js";
import type { ClusterSpec } from "../cluster/spec.js";
import { memberOf, type Leaving } from "./changes.js";
import type { NodeChange, Refusal } from "./types.js";

/** Ready workers of the spec, and how readiness was judged. */
export function readyWorkers(spec: ClusterSpec, status: ClusterStatus): { ready: string[]; judgedBy: string } {
  const workers = spec.nodes.filter((n) => n.role === "worker");
  if (status.kube) {
    const ready = workers.filter((n) => status.kube!.nodes[n.name]?.conditions.Ready === "True").map((n) => n.name);
    return { ready, judgedBy: "the Node's Ready condition" };
  }
  const ready = workers.filter((n) => status.nodes[n.name]?.reachable === true).map((n) => n.name);
  return { ready, judgedBy: "SSH reachability (no Kubernetes API observed)" };
}

/** Control-plane refusals: observability, the half rule and quorum through the plan's order. */
export function controlPlaneRefusals(
  spec: ClusterSpec,
  status: ClusterStatus,
  changes: readonly NodeChange[],
  leaving: readonly Leaving[],
): Refusal[] {
  const cpOf = (k: NodeChange["kind"]) => changes.filter((c) => c.kind === k && c.role === "control-plane");
  const adds = cpOf("add");
  const replaces = cpOf("replace");
  const removes = cpOf("remove");
  const members = status.etcd.members;
  if (replaces.length + removes.length === 0) return [];
  if (members.length === 0) {
    return [
      {
        reason: `etcd did not answer (${status.etcd.error ?? "no member listed"}), so removing or replacing control-plane nodes cannot be judged safe`,
        alternative: `repair etcd first (\`yagura reconcile ${spec.env} --scope etcd\`, or \`yagura etcd restore\` after a lost quorum), then apply again`,
      },
    ];
  }
  const out: Refusal[] = [];
  const voters = members.filter((m) => !m.isLearner);
  const memberAt = (c: NodeChange) => {
    const at = spec.nodes.find((n) => n.name === c.node) ?? leaving.find((l) => l.name === c.node);
    return at ? memberOf(members, at) : undefined;
  };
  // Only voters count: a learner (a grow cut short) or a node that never joined takes no vote away.
  const voterRemoves = removes.filter((c) => memberAt(c)?.isLearner === false);
  if (voterRemoves.length > 0 && voterRemoves.length * 2 >= voters.length) {
    const most = Math.max(0, Math.ceil(voters.length / 2) - 1);
    out.push({
      reason: `the inventory removes ${voterRemoves.length} of ${voters.length} control-plane members at once (${voterRemoves.map((r) => r.node).join(", ")}): half or more`,
      alternative:
        most > 0
          ? `remove at most ${most} now (keep the others in the inventory), apply, then remove the rest in a later apply; or add nodes first`
          : `grow the control plane first (add nodes, apply), then remove in a later apply`,
    });
  }
  // Simulate: adds join healthy; each leave happens with the others as they are.
  const healthy = new Set(voters.filter((m) => m.healthy).map((m) => m.id));
  let size = voters.length + adds.length;
  let healthyCount = healthy.size + adds.length;
  const leave = (c: NodeChange, permanent: boolean): void => {
    const m = memberAt(c);
    if (!m || m.isLearner) return;
    const after = size - 1;
    const others = healthyCount - (healthy.has(m.id) ? 1 : 0);
    if (after < 1 || others < quorum(after)) {
      out.push({
        reason:
          after < 1
            ? `${c.kind === "replace" ? "replacing" : "removing"} ${c.node}, the only etcd voter, loses the cluster's data`
            : `${c.kind === "replace" ? "replacing" : "removing"} ${c.node} leaves ${others} healthy of ${after} voters, below the quorum of ${quorum(after)}`,
        alternative:
          after < 1
            ? `grow the control plane to 3 first (apply), then replace ${c.node}`
            : `repair the unhealthy members first (\`yagura reconcile ${spec.env}\`), or add control-plane nodes before this change`,
      });
      return;
    }
    if (permanent) {
      size = after;
      healthyCount = others;
    }
  };
  for (const c of replaces) leave(c, false);
  for (const c of removes) leave(c, true);
  return out;
}

/** Worker refusals and the replacement batch size (at most maxConcurrentUpdates, within the Ready budget). */
export function workerRefusals(
  spec: ClusterSpec,
  status: ClusterStatus,
  changes: readonly NodeChange[],
): { refusals: Refusal[]; batch: number; note: string } {
  const min = spec.inventory.cluster.minReadyWorkers;
  const max = spec.inventory.reconciler?.maxConcurrentUpdates ?? 3;
  const { ready, judgedBy } = readyWorkers(spec, status);
  const note = `${ready.length} Ready worker(s) (judged by ${judgedBy}); cluster.minReadyWorkers ${min}`;
  const replaces = changes.filter((c) => c.kind === "replace" && c.role === "worker");
  const removes = changes.filter((c) => c.kind === "remove" && c.role === "worker");
  const out: Refusal[] = [];
  const wantWorkers = spec.nodes.filter((n) => n.role === "worker").length;
  if (removes.length && wantWorkers < min) {
    out.push({
      reason: `the inventory keeps ${wantWorkers} worker(s), fewer than cluster.minReadyWorkers ${min}, yet removes ${removes.map((r) => r.node).join(", ")}`,
      alternative: `keep at least ${min} workers in the inventory, or lower cluster.minReadyWorkers`,
    });
  }
  const budget = ready.length - min;
  if (replaces.length && budget < 1) {
    out.push({
      reason: `replacing ${replaces.map((r) => r.node).join(", ")} would leave fewer than ${min} Ready workers (${ready.length} Ready now)`,
      alternative: `add workers first (apply), or lower cluster.minReadyWorkers to ${Math.max(0, ready.length - 1)}`,
    });
  }
  return { refusals: out, batch: Math.max(1, Math.min(max, budget)), note };
}

/** Nodes yagura cannot rebuild itself: static machines outside the lab. */
export function unbuildable(spec: ClusterSpec, changes: readonly NodeChange[]): Refusal[] {
  return changes
    .filter((c) => c.kind === "replace")
    .map((c) => spec.nodes.find((n) => n.name === c.node)!)
    .filter((n) => !n.managed && n.kind !== "lab")
    .map((n) => ({
      reason: `${n.name} is a static ${n.kind} node: yagura neither creates nor reimages it`,
      alternative: `reinstall ${n.name} yourself, then apply (it rejoins as a new member); or restore its rebuild token`,
    }));
}
