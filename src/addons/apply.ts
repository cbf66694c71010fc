/**
 * What an add-on pass should apply, from the desired objects and what observe saw (pure):
 * objects that are missing or carry another revision, in rank order; Deployments held back until
 * more than half the nodes are Ready; CRDs that must be Established before what follows them.
 */
import type { KubeStatus } from "../cluster/status.js";
import type { KubeObject } from "../infra/kube-types.js";
import type { AddonsDesired } from "./desired.js";
import { keyOf, refOf, revisionOf } from "./objects.js";

/** The work of one pass. */
export interface ApplyPlan {
  /** Objects to send, in rank order. */
  readonly apply: readonly KubeObject[];
  /** CRDs already current but not yet Established, to wait for before applying. */
  readonly waitEstablished: readonly string[];
  /** Deployments that are due but wait for more than half the nodes to be Ready. */
  readonly heldBack: readonly KubeObject[];
  /** The record of managed objects differs from the cluster's (objects came or went). */
  readonly recordOutdated: boolean;
}

/** Deployments that bring up the pod network themselves (hostNetwork, e.g. the Tigera operator) are never held back. */
function needsPodNetwork(o: KubeObject): boolean {
  const pod = (
    (o["spec"] as Record<string, unknown> | undefined)?.["template"] as Record<string, unknown> | undefined
  )?.["spec"] as Record<string, unknown> | undefined;
  return pod?.["hostNetwork"] !== true;
}

/** More than half of `total` nodes report Ready. */
export function majorityReady(kube: Pick<KubeStatus, "nodes">, total: number): boolean {
  const ready = Object.values(kube.nodes).filter((n) => n.conditions["Ready"] === "True").length;
  return ready * 2 > total;
}

/** Whether an object is current in the cluster. */
export function isCurrent(o: KubeObject, kube: Pick<KubeStatus, "objects">): boolean {
  return kube.objects[keyOf(refOf(o))]?.revision === revisionOf(o);
}

/** The pass's work; `totalNodes` is the number of nodes the inventory asks for. */
export function planApply(a: AddonsDesired, kube: KubeStatus, totalNodes: number): ApplyPlan {
  const apply: KubeObject[] = [];
  const heldBack: KubeObject[] = [];
  const waitEstablished: string[] = [];
  const majority = majorityReady(kube, totalNodes);
  for (const o of a.objects) {
    // A Node is only ever labelled: applying to one not registered yet would create a bogus Node.
    if (o.kind === "Node" && !kube.nodes[o.metadata.name]) continue;
    if (isCurrent(o, kube)) {
      if (o.kind === "CustomResourceDefinition" && kube.objects[keyOf(refOf(o))]?.established === false) {
        waitEstablished.push(o.metadata.name);
      }
      continue;
    }
    if (o.kind === "Deployment" && needsPodNetwork(o) && !majority) heldBack.push(o);
    else apply.push(o);
  }
  return { apply, heldBack, waitEstablished, recordOutdated: !isCurrent(a.record, kube) };
}
