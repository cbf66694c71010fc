/**
 * The Kubernetes half of observe: /readyz, the default ServiceAccount, Nodes, the pods of watched
 * DaemonSets, CSINode drivers and the revisions of managed objects. An API that does not answer is
 * a fact (`ready: false` with the reason), never an exception.
 *
 * Half a picture is worse than none: the rungs delete Nodes and rewrite taints from what they see,
 * so when any of these reads fails the whole status reads as not ready, with the failed read named.
 */
import type { ClusterSpec } from "../cluster/spec.js";
import type { KubeObjectStatus, KubeStatus } from "../cluster/status.js";
import type { KubeApi, KubeNode, KubeObject, KubeObjectRef } from "../infra/kube-types.js";
import type { Desired } from "../ops/etcd/desired.js";
import { addonsObservePlan } from "../addons/desired.js";
import { API_RBAC_REFS } from "../ops/kube/rbac.js";
import { keyOf as objectKey, REVISION_ANNOTATION as REVISION } from "../addons/objects.js";
import { DEFAULT_SERVICE_ACCOUNT } from "../ops/kube/steps.js";

/** What to look at beyond nodes: DaemonSets whose pods gate the boot taint, and managed objects. */
export interface KubeObservePlan {
  readonly daemonSets: readonly { readonly namespace: string; readonly name: string }[];
  readonly objects: readonly KubeObjectRef[];
}

/** The plan for a spec: the DaemonSets that gate the boot taint and every object the add-ons manage. */
export function kubeObservePlan(_spec: ClusterSpec, desired: Desired): KubeObservePlan {
  return addonsObservePlan(desired.addons);
}

const EMPTY = { defaultServiceAccount: false, nodes: {}, daemonSetPods: {}, csiDrivers: {}, objects: {} } as const;

/** Runs one read, naming it in the error so "which read failed" survives into the status. */
async function read<T>(what: string, p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    throw new Error(`${what}: ${(err as Error).message}`);
  }
}

function objectStatus(o: KubeObject): KubeObjectStatus {
  const revision = o.metadata.annotations?.[REVISION];
  const out: { revision?: string; established?: boolean } = revision === undefined ? {} : { revision };
  if (o.kind === "CustomResourceDefinition") {
    const conds = ((o["status"] as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ??
      []) as { type: string; status: string }[];
    out.established = conds.some((c) => c.type === "Established" && c.status === "True");
  }
  return out;
}

async function daemonSetPods(api: KubeApi, plan: KubeObservePlan): Promise<KubeStatus["daemonSetPods"]> {
  const out: Record<string, Record<string, boolean>> = {};
  // One list per namespace; a DaemonSet's pods are the ones it controls (owner reference), whatever their labels.
  const namespaces = [...new Set(plan.daemonSets.map((d) => d.namespace))];
  const pods = await Promise.all(namespaces.map((ns) => read(`pods in ${ns}`, api.listPods({ namespace: ns }))));
  for (const ds of plan.daemonSets) {
    const byNode: Record<string, boolean> = {};
    for (const p of pods[namespaces.indexOf(ds.namespace)]!) {
      if (p.owner?.kind !== "DaemonSet" || p.owner.name !== ds.name || !p.nodeName) continue;
      // Two pods on one node (a rolling update): the node counts as ready when any of them is.
      byNode[p.nodeName] = (byNode[p.nodeName] ?? false) || p.ready;
    }
    out[`${ds.namespace}/${ds.name}`] = byNode;
  }
  return out;
}

async function csiDrivers(api: KubeApi): Promise<KubeStatus["csiDrivers"]> {
  const out: Record<string, string[]> = {};
  for (const o of await read("CSINodes", api.list("storage.k8s.io/v1", "CSINode"))) {
    const drivers = ((o["spec"] as { drivers?: { name: string }[] } | undefined)?.drivers ?? []).map((d) => d.name);
    out[o.metadata.name] = drivers.sort();
  }
  return out;
}

async function objects(api: KubeApi, refs: readonly KubeObjectRef[]): Promise<KubeStatus["objects"]> {
  const out: Record<string, KubeObjectStatus> = {};
  const unique = new Map(refs.map((r) => [objectKey(r), r]));
  const found = await Promise.all([...unique.values()].map((r) => read(`get ${objectKey(r)}`, api.get(r))));
  [...unique.keys()].forEach((k, i) => {
    const o = found[i];
    if (o) out[k] = objectStatus(o);
  });
  return out;
}

/** Observes the API; never throws. The API rung's own objects are always watched. */
export async function observeKube(api: KubeApi, plan: KubeObservePlan): Promise<KubeStatus> {
  try {
    const r = await api.readyz();
    if (!r.ok) return { ready: false, error: `readyz: ${r.body.slice(0, 300)}`, ...EMPTY };
  } catch (err) {
    return { ready: false, error: (err as Error).message, ...EMPTY };
  }
  try {
    const [sa, nodeList, dsPods, csi, objs] = await Promise.all([
      read("default ServiceAccount", api.get(DEFAULT_SERVICE_ACCOUNT)),
      read("nodes", api.listNodes()),
      daemonSetPods(api, plan),
      csiDrivers(api),
      objects(api, [...API_RBAC_REFS, ...plan.objects]),
    ]);
    const nodes: Record<string, KubeNode> = {};
    for (const n of nodeList) nodes[n.name] = n;
    return {
      ready: true,
      defaultServiceAccount: sa !== undefined,
      nodes,
      daemonSetPods: dsPods,
      csiDrivers: csi,
      objects: objs,
    };
  } catch (err) {
    return { ready: false, error: `the API answered /readyz but a read failed: ${(err as Error).message}`, ...EMPTY };
  }
}
