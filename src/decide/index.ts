/**
 * decide(): the pure, ordered ladder. The first rung with work returns its ops and phase; an
 * unsafe situation returns no ops and an `…-aborted` phase saying why.
 *
 * The etcd rungs come first as one block (bootstrap, membership, snapshots), then the Kubernetes
 * rungs in dependency order. A Kubernetes rung that cannot progress (a missing binary, an API that
 * does not answer) therefore never holds back etcd repair or a due backup.
 */
import type { ClusterStatus } from "../cluster/status.js";
import type { ClusterSpec } from "../cluster/spec.js";
import { decideAddons } from "./addons.js";
import { decideBootTaint } from "./boot-taint.js";
import { decideEtcdBoot } from "./etcd-boot.js";
import { decideEtcdMaintain } from "./etcd-maintain.js";
import { decideEtcdSnapshot } from "./etcd-snapshot.js";
import { decideApiReady } from "./k8s-api.js";
import { decideArtifacts } from "./k8s-artifacts.js";
import { decideControlPlane } from "./k8s-control-plane.js";
import { decideNodeObjects } from "./k8s-node-objects.js";
import { decideNodeComponents } from "./k8s-nodes.js";
import { decidePodNetwork } from "./pod-network.js";
import { decidePrerequisites } from "./prerequisites.js";
import { decideRuntime } from "./runtime.js";
import type { Decision, DecideOptions } from "./types.js";

export type { Decision, DecideOptions } from "./types.js";

type Rung = (spec: ClusterSpec, status: ClusterStatus, o: DecideOptions) => Decision | undefined;

/** Node prerequisites and etcd, in order: scope `etcd` stops after these. */
export const ETCD_RUNGS: readonly Rung[] = [
  decidePrerequisites,
  decideEtcdBoot,
  decideEtcdMaintain,
  decideEtcdSnapshot,
];

/** The Kubernetes rungs, in dependency order (scope `all`). */
export const K8S_RUNGS: readonly Rung[] = [
  decideRuntime,
  decideArtifacts,
  decideControlPlane,
  decideNodeComponents,
  decideApiReady,
  // Before add-ons and the boot taint: the inventory's labels and taints must be on a node before its
  // boot taint lifts (else workloads land before `dedicated=…` does), add-ons may select nodes by label,
  // and one node whose CNI never gets ready must not hold back every other node's labels or removal.
  decideNodeObjects,
  decidePodNetwork,
  decideAddons,
  decideBootTaint,
];

/** The next step for the cluster: (spec, status, options) → {phase, ops, message}. */
export function decide(spec: ClusterSpec, status: ClusterStatus, o: DecideOptions): Decision {
  const all = (o.scope ?? "all") === "all";
  for (const rung of all ? [...ETCD_RUNGS, ...K8S_RUNGS] : ETCD_RUNGS) {
    const d = rung(spec, status, o);
    if (d) return d;
  }
  return all
    ? { phase: "completed", ops: [], message: "the cluster is as the inventory says" }
    : { phase: "completed", ops: [], message: "etcd is complete and nothing is left to do in scope etcd" };
}
