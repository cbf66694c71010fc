/**
 * decide(): the pure, ordered ladder. The first rung with work returns its ops and phase; an
 * unsafe situation returns no ops and an `…-aborted` phase saying why. Rungs this version does
 * not implement yet say so (`k8s-…-not-built`) instead of pretending the cluster is complete.
 */
import type { ClusterStatus } from "../cluster/status.js";
import type { ClusterSpec } from "../cluster/spec.js";
import { decideEtcdBoot } from "./etcd-boot.js";
import { decideEtcdMaintain } from "./etcd-maintain.js";
import { decideEtcdSnapshot } from "./etcd-snapshot.js";
import { decidePrerequisites } from "./prerequisites.js";
import type { Decision, DecideOptions } from "./types.js";

export type { Decision, DecideOptions } from "./types.js";

/** Kubernetes rungs, in ladder order, that are not implemented in this version. */
const NOT_BUILT = [
  ["k8s-control-plane-not-built", "kube-apiserver, controller-manager and scheduler"],
  ["k8s-nodes-not-built", "kubelet and kube-proxy"],
  ["k8s-objects-not-built", "cluster objects (CNI, CSI, DNS, cloud integration)"],
  ["k8s-boot-taint-not-built", "boot-taint removal, node labels and taints"],
] as const;

/** The next step for the cluster: (spec, status, options) → {phase, ops, message}. */
export function decide(spec: ClusterSpec, status: ClusterStatus, o: DecideOptions): Decision {
  const rungs = [decidePrerequisites, decideEtcdBoot, decideEtcdMaintain, decideEtcdSnapshot];
  for (const rung of rungs) {
    const d = rung(spec, status, o);
    if (d) return d;
  }
  if ((o.scope ?? "all") === "all") {
    const [phase, what] = NOT_BUILT[0];
    return {
      phase,
      ops: [],
      message: `etcd is complete; ${what} are not managed by this version of yagura (run with --scope etcd to stop after etcd)`,
    };
  }
  return { phase: "completed", ops: [], message: "etcd is complete and nothing is left to do in scope etcd" };
}
