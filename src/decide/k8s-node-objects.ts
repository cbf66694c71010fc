/** Rung 9: node labels and taints from the inventory; nodes no longer in it cordoned and deleted. */
import type { ClusterStatus } from "../cluster/status.js";
import type { ClusterSpec } from "../cluster/spec.js";
import type { Decision, DecideOptions } from "./types.js";

/** Not built yet: says so instead of pretending the cluster is complete. */
export function decideNodeObjects(_spec: ClusterSpec, _status: ClusterStatus, _o: DecideOptions): Decision | undefined {
  return {
    phase: "k8s-node-objects-not-built",
    ops: [],
    message:
      "node labels, taints and removal are not managed by this version of yagura (run with --scope etcd to stop after etcd)",
  };
}
