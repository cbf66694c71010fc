/**
 * Cluster objects as yagura applies them: their identity (key), their rank in the apply order, the
 * labels and annotations yagura adds, and the revision hash that lets a pass skip unchanged objects.
 */
import { createHash } from "node:crypto";
import { stringify } from "yaml";
import type { KubeObject, KubeObjectRef } from "../infra/kube-types.js";

/** Annotation holding the hash of the object as yagura last sent it. */
export const REVISION_ANNOTATION = "yagura.io/revision";
/** Label on every object yagura applies, so a person (or a selector) can find them. */
export const MANAGED_LABEL = "yagura.io/managed";

/**
 * Apply ranks by kind: what others refer to goes first. Anything not listed is a custom resource or
 * a workload-like object and goes last, after the CRDs it needs are Established.
 */
const RANKS: Readonly<Record<string, number>> = {
  Namespace: 10,
  ServiceAccount: 20,
  CustomResourceDefinition: 30,
  ClusterRole: 40,
  ClusterRoleBinding: 40,
  Role: 50,
  RoleBinding: 50,
  ConfigMap: 60,
  Secret: 60,
  StorageClass: 70,
  CSIDriver: 70,
  PriorityClass: 70,
  Service: 80,
  DaemonSet: 90,
  Deployment: 90,
  StatefulSet: 90,
  Job: 90,
  MutatingWebhookConfiguration: 95,
  ValidatingWebhookConfiguration: 95,
};

/** Rank of custom resources and unknown kinds: after every workload. */
export const LAST_RANK = 100;

/** The rank of an object's kind (lower is applied first). */
export function rankOf(kind: string): number {
  return RANKS[kind] ?? LAST_RANK;
}

/** The API group of an apiVersion (`core` for v1). */
export function groupOf(apiVersion: string): string {
  const i = apiVersion.lastIndexOf("/");
  return i < 0 ? "core" : apiVersion.slice(0, i);
}

/** The reference of an object. */
export function refOf(o: KubeObject): KubeObjectRef {
  return {
    apiVersion: o.apiVersion,
    kind: o.kind,
    name: o.metadata.name,
    ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}),
  };
}

/** `apiVersion/kind/namespace/name` (namespace empty when cluster-scoped), as KubeStatus.objects keys it. */
export function keyOf(ref: KubeObjectRef): string {
  return `${ref.apiVersion}/${ref.kind}/${ref.namespace ?? ""}/${ref.name}`;
}

/** Identity without the version: an object moved from v1beta1 to v1 is still the same object. */
function identity(ref: KubeObjectRef): string {
  return `${groupOf(ref.apiVersion)}/${ref.kind}/${ref.namespace ?? ""}/${ref.name}`;
}

/** Sorts objects into apply order: rank, then group, kind, namespace, name (stable and total). */
export function sortByRank<T extends KubeObject>(objs: readonly T[]): T[] {
  const k = (o: KubeObject) =>
    [
      String(rankOf(o.kind)).padStart(3, "0"),
      groupOf(o.apiVersion),
      o.kind,
      o.metadata.namespace ?? "",
      o.metadata.name,
    ].join("\u0000");
  return [...objs].sort((a, b) => (k(a) < k(b) ? -1 : k(a) > k(b) ? 1 : 0));
}

/**
 * Merges bundle objects with rendered ones: a rendered object replaces a bundle object of the same
 * identity (yagura's Corefile wins over the bundle's), and a repeated object keeps its last copy.
 */
export function mergeObjects(...sets: readonly (readonly KubeObject[])[]): KubeObject[] {
  const byId = new Map<string, KubeObject>();
  for (const set of sets) for (const o of set) byId.set(identity(refOf(o)), o);
  return [...byId.values()];
}

/** JSON with object keys sorted, so the hash does not depend on the order fields were written in. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v !== null && typeof v === "object") {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonical(x)}`).join(",")}}`;
  }
  return JSON.stringify(v);
}

/** The object with yagura's label and its revision annotation (the hash of everything else). */
export function stamp(o: KubeObject): KubeObject {
  const labeled: KubeObject = {
    ...o,
    metadata: { ...o.metadata, labels: { ...(o.metadata.labels ?? {}), [MANAGED_LABEL]: "true" } },
  };
  const revision = createHash("sha256").update(canonical(labeled)).digest("hex").slice(0, 32);
  return {
    ...labeled,
    metadata: {
      ...labeled.metadata,
      annotations: { ...(labeled.metadata.annotations ?? {}), [REVISION_ANNOTATION]: revision },
    },
  };
}

/** The revision yagura stamped on an object. */
export function revisionOf(o: KubeObject): string {
  const r = o.metadata.annotations?.[REVISION_ANNOTATION];
  if (r === undefined) throw new Error(`${keyOf(refOf(o))} has no revision (a bug in yagura: stamp it first)`);
  return r;
}

/** The file name `yagura render` writes an object to: `<rank>-<group>-<Kind>-[<namespace>-]<name>.yaml`. */
export function fileNameOf(o: KubeObject): string {
  const ns = o.metadata.namespace ? `${o.metadata.namespace}-` : "";
  const name = `${ns}${o.metadata.name}`.replace(/[^A-Za-z0-9._-]/g, "_");
  return `${String(rankOf(o.kind)).padStart(3, "0")}-${groupOf(o.apiVersion)}-${o.kind}-${name}.yaml`;
}

/** An object as YAML for people to read (`yagura render`, golden files); keys in the order yagura wrote them. */
export function objectYaml(o: KubeObject): string {
  return stringify(o, { lineWidth: 0, aliasDuplicateObjects: false });
}
