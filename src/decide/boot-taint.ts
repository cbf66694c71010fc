/** Rung 8: the boot taint comes off a node only when its CNI (and CSI node plugin) is ready. */
import type { ClusterStatus } from "../cluster/status.js";
import type { ClusterSpec } from "../cluster/spec.js";
import type { Decision, DecideOptions } from "./types.js";

/** Not built yet: says so instead of pretending the cluster is complete. */
export function decideBootTaint(_spec: ClusterSpec, _status: ClusterStatus, _o: DecideOptions): Decision | undefined {
  return {
    phase: "k8s-boot-taint-not-built",
    ops: [],
    message: "boot-taint removal are not managed by this version of yagura (run with --scope etcd to stop after etcd)",
  };
}
