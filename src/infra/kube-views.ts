/**
 * Node and Pod JSON as the API returns them → the small views the ladder reads (KubeNode,
 * KubePod). Pure, so the real adapter and the test fakes agree on what a field means.
 */
import type { Taint } from "../inventory/schema.js";
import type { KubeNode, KubeObject, KubePod } from "./kube-types.js";

type Json = Record<string, unknown>;

const record = (v: unknown): Record<string, string> => ({ ...((v ?? {}) as Record<string, string>) });

/** A Node object → KubeNode (conditions by type, taints with an empty value when absent). */
export function toKubeNode(o: KubeObject): KubeNode {
  const spec = (o["spec"] ?? {}) as Json;
  const status = (o["status"] ?? {}) as Json;
  const conditions: Record<string, string> = {};
  for (const c of (status["conditions"] ?? []) as { type: string; status: string }[]) conditions[c.type] = c.status;
  const rv = o.metadata["resourceVersion"];
  return {
    name: o.metadata.name,
    labels: record(o.metadata.labels),
    annotations: record(o.metadata.annotations),
    taints: ((spec["taints"] ?? []) as Taint[]).map((t) => ({ key: t.key, value: t.value ?? "", effect: t.effect })),
    unschedulable: spec["unschedulable"] === true,
    conditions,
    ...(typeof spec["providerID"] === "string" ? { providerID: spec["providerID"] } : {}),
    ...(typeof spec["podCIDR"] === "string" ? { podCIDR: spec["podCIDR"] } : {}),
    ...(typeof rv === "string" ? { resourceVersion: rv } : {}),
  };
}

/** A Pod object → KubePod (Ready from its Ready condition; owner from the controller reference). */
export function toKubePod(o: KubeObject): KubePod {
  const spec = (o["spec"] ?? {}) as Json;
  const status = (o["status"] ?? {}) as Json;
  const conditions = (status["conditions"] ?? []) as { type: string; status: string }[];
  const owners = (o.metadata["ownerReferences"] ?? []) as { kind: string; name: string; controller?: boolean }[];
  const owner = owners.find((r) => r.controller) ?? owners[0];
  return {
    namespace: o.metadata.namespace ?? "",
    name: o.metadata.name,
    ...(typeof spec["nodeName"] === "string" && spec["nodeName"] ? { nodeName: spec["nodeName"] } : {}),
    ready: conditions.some((c) => c.type === "Ready" && c.status === "True"),
    phase: typeof status["phase"] === "string" ? status["phase"] : "Unknown",
    labels: record(o.metadata.labels),
    ...(owner ? { owner: { kind: owner.kind, name: owner.name } } : {}),
  };
}
