/**
 * The add-ons' desired state, as decide and the ops read it: every object in apply order (stamped),
 * the record of what yagura manages (for pruning), and what gates the boot taint (the CNI's
 * DaemonSet, the CSI driver VM nodes must register). Pure: bundles are read beforehand.
 */
import type { ClusterSpec } from "../cluster/spec.js";
import type { KubeObject, KubeObjectRef } from "../infra/kube-types.js";
import { keyOf, refOf, stamp } from "./objects.js";
import { CALICO_NODE } from "./render/calico.js";
import { renderAddons, type AddonRenderInput } from "./render/index.js";
import { CINDER_DRIVER, CINDER_NODE_PLUGIN, cinderNodes } from "./render/storage.js";

/** The ConfigMap listing every object yagura applied, read back to find what to prune. */
export const MANAGED_RECORD = { namespace: "kube-system", name: "yagura-managed" } as const;

/** A DaemonSet by namespace and name. */
export interface DaemonSetRef {
  readonly namespace: string;
  readonly name: string;
}

/** What the add-on and boot-taint rungs need. */
export interface AddonsDesired {
  /** Every object, stamped, in apply order. */
  readonly objects: readonly KubeObject[];
  /** The record of managed objects (`MANAGED_RECORD`), stamped; written after every apply. */
  readonly record: KubeObject;
  /** Delete what the previous record lists and `objects` no longer has. */
  readonly prune: boolean;
  /** The CNI DaemonSet whose pod on a node must be Ready before the boot taint comes off. */
  readonly cni?: DaemonSetRef;
  /** The CSI node plugin nodes must register before the boot taint comes off, and those nodes. */
  readonly csi?: { readonly driver: string; readonly daemonSet: DaemonSetRef; readonly nodes: readonly string[] };
}

/** Keys listed in the record: every object but Nodes (yagura only labels those; it never deletes one). */
export function recordedKeys(objects: readonly KubeObject[]): string[] {
  return objects.filter((o) => o.kind !== "Node").map((o) => keyOf(refOf(o)));
}

/** The record ConfigMap for these objects. */
export function managedRecord(objects: readonly KubeObject[]): KubeObject {
  return stamp({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { ...MANAGED_RECORD },
    data: { objects: recordedKeys(objects).join("\n") },
  });
}

/** Reads the keys a record ConfigMap lists. */
export function readRecord(o: KubeObject | undefined): string[] {
  const data = (o?.["data"] ?? {}) as Record<string, string>;
  return (data["objects"] ?? "").split("\n").filter((k) => k !== "");
}

/** Builds the add-ons' desired state (pure). */
export function buildAddonsDesired(spec: ClusterSpec, input: AddonRenderInput): AddonsDesired {
  const objects = renderAddons(spec, input);
  const names = new Set(input.bundles.map((b) => b.name));
  return {
    objects,
    record: managedRecord(objects),
    prune: spec.inventory.addons.prune,
    ...(names.has("tigera-operator") ? { cni: { ...CALICO_NODE } } : {}),
    ...(names.has("cinder-csi")
      ? { csi: { driver: CINDER_DRIVER, daemonSet: { ...CINDER_NODE_PLUGIN }, nodes: cinderNodes(spec) } }
      : {}),
  };
}

/** What observe should watch for the add-ons: the gating DaemonSets and every managed object. */
export function addonsObservePlan(a: AddonsDesired | undefined): {
  daemonSets: DaemonSetRef[];
  objects: KubeObjectRef[];
} {
  if (!a) return { daemonSets: [], objects: [] };
  return {
    daemonSets: [...(a.cni ? [a.cni] : []), ...(a.csi ? [a.csi.daemonSet] : [])],
    objects: [...a.objects.map(refOf), refOf(a.record)],
  };
}
