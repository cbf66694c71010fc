/**
 * The Kubernetes half of observe: /readyz, the default ServiceAccount, Nodes, the pods of watched
 * DaemonSets, CSINode drivers and the revisions of managed objects. An API that does not answer is
 * a fact (`ready: false` with the reason), never an exception.
 */
import type { ClusterSpec } from "../cluster/spec.js";
import type { KubeStatus } from "../cluster/status.js";
import type { KubeApi, KubeObjectRef } from "../infra/kube-types.js";
import type { Desired } from "../ops/etcd/desired.js";

/** What to look at beyond nodes: DaemonSets whose pods gate the boot taint, and managed objects. */
export interface KubeObservePlan {
  readonly daemonSets: readonly { readonly namespace: string; readonly name: string }[];
  readonly objects: readonly KubeObjectRef[];
}

/** The plan for a spec: filled in by the add-on rungs; empty until they exist. */
export function kubeObservePlan(_spec: ClusterSpec, _desired: Desired): KubeObservePlan {
  return { daemonSets: [], objects: [] };
}

/** Observes the API; never throws. */
export async function observeKube(api: KubeApi, plan: KubeObservePlan): Promise<KubeStatus> {
  const empty = { defaultServiceAccount: false, nodes: {}, daemonSetPods: {}, csiDrivers: {}, objects: {} };
  try {
    const r = await api.readyz();
    if (!r.ok) return { ready: false, error: `readyz: ${r.body.slice(0, 300)}`, ...empty };
  } catch (err) {
    return { ready: false, error: (err as Error).message, ...empty };
  }
  void plan;
  return { ready: true, ...empty };
}
