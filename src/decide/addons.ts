/** Rung 7b: cluster objects in rank order. */
import type { ClusterStatus } from "../cluster/status.js";
import type { ClusterSpec } from "../cluster/spec.js";
import type { Decision, DecideOptions } from "./types.js";

/** Not built yet: says so instead of pretending the cluster is complete. */
export function decideAddons(_spec: ClusterSpec, _status: ClusterStatus, _o: DecideOptions): Decision | undefined {
  return {
    phase: "k8s-objects-not-built",
    ops: [],
    message:
      "cluster objects (CNI, CSI, DNS, cloud integration) are not managed by this version of yagura (run with --scope etcd to stop after etcd)",
  };
}
