/**
 * Revisions of the objects the API rungs apply: a hash of the object as yagura sends it, kept in
 * the `yagura.io/revision` annotation, so a pass whose object is unchanged sends nothing.
 */
import { createHash } from "node:crypto";
import type { KubeObject, KubeObjectRef } from "../../infra/kube-types.js";

/** The annotation holding the revision yagura last applied. */
export const REVISION = "yagura.io/revision";

/** `apiVersion/kind/namespace/name` (namespace empty when cluster-scoped): the key of KubeStatus.objects. */
export function objectKey(ref: KubeObjectRef): string {
  return `${ref.apiVersion}/${ref.kind}/${ref.namespace ?? ""}/${ref.name}`;
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

/** JSON with sorted keys, so the hash does not depend on the order fields were written in. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v !== null && typeof v === "object") {
    const keys = Object.keys(v as object)
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(",")}}`;
  }
  return JSON.stringify(v);
}

/** The object with its revision annotation (the hash of everything else). */
export function withRevision(o: KubeObject): KubeObject {
  const revision = createHash("sha256").update(canonical(o)).digest("hex").slice(0, 32);
  return {
    ...o,
    metadata: { ...o.metadata, annotations: { ...(o.metadata.annotations ?? {}), [REVISION]: revision } },
  };
}

/** The revision stamped on an object by withRevision. */
export function revisionOf(o: KubeObject): string {
  const r = o.metadata.annotations?.[REVISION];
  if (r === undefined) throw new Error(`${objectKey(refOf(o))} has no ${REVISION} annotation (a bug in yagura)`);
  return r;
}
