/** Rung 5: kubelet (with the boot taint) and kube-proxy in batches of maxConcurrentUpdates. */
import type { ClusterStatus } from "../cluster/status.js";
import type { ClusterSpec } from "../cluster/spec.js";
import type { Decision, DecideOptions } from "./types.js";

/** Not built yet: says so instead of pretending the cluster is complete. */
export function decideNodeComponents(
  _spec: ClusterSpec,
  _status: ClusterStatus,
  _o: DecideOptions,
): Decision | undefined {
  return {
    phase: "k8s-nodes-not-built",
    ops: [],
    message:
      "kubelet and kube-proxy are not managed by this version of yagura (run with --scope etcd to stop after etcd)",
  };
}
