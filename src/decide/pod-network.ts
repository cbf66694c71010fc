/**
 * Rung 7c (networking `bridge` only): every reachable, registered node has the CNI config for its
 * pod range and a route to every other node's range. A node whose pod range is not allocated yet
 * is waited for (kube-wait-pod-cidrs, bounded): the controller manager allocates it right after
 * the Node registers. Calico clusters skip this rung; their add-on does the same job.
 */
import type { ClusterStatus } from "../cluster/status.js";
import type { ClusterSpec } from "../cluster/spec.js";
import { isPodCidr, podNetworkTarget, type PodNetworkTarget } from "../network/bridge.js";
import { podNetworkOp } from "../ops/network/bridge.js";
import { kubeWaitPodCidrsOp } from "../ops/kube/wait.js";
import type { Decision, DecideOptions } from "./types.js";

/** The bridge network's next step; undefined when it is in place on every node that can be checked. */
export function decidePodNetwork(spec: ClusterSpec, status: ClusterStatus, o: DecideOptions): Decision | undefined {
  if (spec.inventory.networking.cni !== "bridge" || !o.desired.k8s) return undefined;
  const kube = status.kube;
  if (!kube?.ready) return undefined; // decideApiReady waits for the API first
  const targets: PodNetworkTarget[] = [];
  const unallocated: string[] = [];
  for (const n of spec.nodes) {
    const s = status.nodes[n.name];
    const k = kube.nodes[n.name];
    if (!s?.reachable || !k) continue;
    if (!isPodCidr(k.podCIDR)) {
      unallocated.push(n.name);
      continue;
    }
    const t = podNetworkTarget(spec, n, k.podCIDR, s.files, s.routes ?? [], kube.nodes);
    if (t) targets.push(t);
  }
  if (targets.length) {
    const what = (t: PodNetworkTarget) =>
      [
        ...(t.conflist ? ["CNI config"] : []),
        ...(t.add.length ? [`${t.add.length} route(s) to add`] : []),
        ...(t.remove.length ? [`${t.remove.length} stale route(s)`] : []),
      ].join(", ");
    return {
      phase: "pod-network",
      ops: [podNetworkOp(targets)],
      message: `putting the bridge pod network in place: ${targets.map((t) => `${t.node} (${what(t)})`).join("; ")}`,
    };
  }
  if (unallocated.length) {
    return {
      phase: "pod-network-wait",
      ops: [kubeWaitPodCidrsOp(unallocated)],
      message: `waiting for the controller manager to allocate a pod range (spec.podCIDR) to ${unallocated.join(", ")}`,
    };
  }
  return undefined;
}
