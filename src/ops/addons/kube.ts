/** Helpers the add-on ops share: the API client of the pass, object keys, CRD readiness. */
import type { KubeApi, KubeObject, KubeObjectRef } from "../../infra/kube-types.js";
import type { OpContext } from "../types.js";

/** The pass's API client; its absence means decide ran an API op without an API (a bug). */
export function kubeOf(ctx: OpContext): KubeApi {
  if (!ctx.kube) throw new Error("no Kubernetes API client in this pass (a bug in yagura: an API op ran without one)");
  return ctx.kube;
}

/** Parses `apiVersion/kind/namespace/name` (apiVersion may hold a slash) back into a reference. */
export function parseKey(key: string): KubeObjectRef {
  const parts = key.split("/");
  if (parts.length < 4) throw new Error(`malformed object key ${JSON.stringify(key)} in the managed record`);
  const name = parts.pop()!;
  const namespace = parts.pop()!;
  const kind = parts.pop()!;
  return { apiVersion: parts.join("/"), kind, name, ...(namespace ? { namespace } : {}) };
}

/** The CRD's Established condition is True. */
export function established(crd: KubeObject | undefined): boolean {
  const conds = ((crd?.["status"] as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ??
    []) as { type: string; status: string }[];
  return conds.some((c) => c.type === "Established" && c.status === "True");
}

/** The reference of a CRD by name. */
export function crdRef(name: string): KubeObjectRef {
  return { apiVersion: "apiextensions.k8s.io/v1", kind: "CustomResourceDefinition", name };
}
