/** Rung 4: kube-apiserver one node at a time, then controller-manager and scheduler. */
import type { ClusterStatus } from "../cluster/status.js";
import type { ClusterSpec } from "../cluster/spec.js";
import type { Decision, DecideOptions } from "./types.js";

/** Not built yet: says so instead of pretending the cluster is complete. */
export function decideControlPlane(
  _spec: ClusterSpec,
  _status: ClusterStatus,
  _o: DecideOptions,
): Decision | undefined {
  return {
    phase: "k8s-control-plane-not-built",
    ops: [],
    message:
      "etcd is complete; kube-apiserver, controller-manager and scheduler are not managed by this version of yagura (run with --scope etcd to stop after etcd)",
  };
}
