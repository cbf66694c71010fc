/**
 * Rung 9 of DESIGN.md, run right after the API is ready (see index.ts for why): node labels and taints
 * from the inventory; Nodes no longer in it cordoned and deleted.
 * Kubelets that answer over SSH but have not registered are waited for (bounded), so `completed`
 * means every reachable node is registered and labelled.
 */
import type { ClusterStatus } from "../cluster/status.js";
import type { ClusterSpec } from "../cluster/spec.js";
import { kubeNodeObjectsOp, nodeObjectsDrift, type NodeObjectsWant } from "../ops/kube/node-objects.js";
import { kubeRemoveNodesOp } from "../ops/kube/remove-nodes.js";
import { kubeWaitNodesOp } from "../ops/kube/wait.js";
import { supervisorFor } from "../supervisor/index.js";
import type { Decision, DecideOptions } from "./types.js";

/** The boot taint's key, with the inventory's default when the section is absent. */
export function bootTaintKey(spec: ClusterSpec): string {
  return spec.inventory.cluster?.bootTaint ?? "node.yagura.io/not-ready";
}

/** Labels and taints first, then registration, then removal of Nodes the inventory no longer has. */
export function decideNodeObjects(spec: ClusterSpec, status: ClusterStatus, _o: DecideOptions): Decision | undefined {
  const kube = status.kube;
  // The API rung runs first and waits for readiness; without a full picture there is nothing safe to do here.
  if (!kube?.ready) return undefined;
  const boot = bootTaintKey(spec);
  const wanted = new Set(spec.nodes.map((n) => n.name));

  const drift: { want: NodeObjectsWant; what: string[] }[] = [];
  for (const n of spec.nodes) {
    const node = kube.nodes[n.name];
    if (!node) continue;
    const want = { name: n.name, labels: n.labels, taints: n.taints };
    const what = nodeObjectsDrift(node, want, boot);
    if (what.length) drift.push({ want, what });
  }
  if (drift.length) {
    return {
      phase: "k8s-node-objects",
      ops: [
        kubeNodeObjectsOp(
          drift.map((d) => d.want),
          boot,
        ),
      ],
      message: `labels and taints to set from the inventory: ${drift.map((d) => `${d.want.name} (${d.what.join("; ")})`).join(", ")}`,
    };
  }

  const unregistered = spec.nodes
    .filter((n) => !kube.nodes[n.name] && status.nodes[n.name]?.reachable)
    .map((n) => n.name);
  if (unregistered.length) {
    const waited = spec.nodes.filter((n) => unregistered.includes(n.name));
    // A running kubelet whose Node is gone (deleted) registers again only when restarted.
    const restartable = waited.filter((n) => status.nodes[n.name]?.services["kubelet"]?.running).map((n) => n.name);
    return {
      phase: "k8s-node-register-wait",
      ops: [
        kubeWaitNodesOp(unregistered, Object.fromEntries(waited.map((n) => [n.name, supervisorFor(n)])), restartable),
      ],
      message: `nodes not registered with the API yet: ${unregistered.join(", ")}`,
    };
  }

  const extra = Object.keys(kube.nodes)
    .filter((name) => !wanted.has(name))
    .sort();
  if (extra.length) {
    if (!spec.nodes.some((n) => kube.nodes[n.name])) {
      return {
        phase: "k8s-node-removal-aborted",
        ops: [],
        message:
          `none of the registered Nodes (${extra.join(", ")}) is in the inventory: refusing to delete them all; ` +
          "check that the inventory and the API endpoint belong to the same cluster",
      };
    }
    return {
      phase: "k8s-node-removal",
      ops: [kubeRemoveNodesOp(extra)],
      message: `Nodes registered but no longer in the inventory, to cordon and delete: ${extra.join(", ")}`,
    };
  }
  return undefined;
}
