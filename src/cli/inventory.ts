/** `yagura validate` and `yagura inventory show`: load an environment and report on it. */
import { stringify } from "yaml";
import { loadInventory, type LoadResult } from "../inventory/load.js";
import { formatProblem } from "../inventory/problem.js";
import { clusterSpec, type ClusterSpec } from "../cluster/spec.js";
import { readStackApiEndpoint, readStackNodes, StackOutputsError, withStackNodes } from "../infra/stack-outputs.js";
import { UserError } from "./errors.js";
import { resolveLocalRelease } from "../k8s/local-release.js";

/** Loads ENV or throws a UserError listing every problem. */
export function requireSpec(env: string, inventoryDir?: string): ClusterSpec & { file: string } {
  const res: LoadResult = loadInventory(env, inventoryDir);
  if (!res.ok) {
    throw new UserError(
      `${res.file}: ${res.problems.length} problem${res.problems.length === 1 ? "" : "s"} in the inventory`,
      res.problems.map(formatProblem),
    );
  }
  return { ...clusterSpec(res.env, resolveLocalRelease(res.inventory, process.env)), file: res.file };
}

/**
 * The spec the reconciler works on: the inventory joined with the stack's `nodes` output when any
 * node belongs to an OpenStack pool (static-only environments, like the lab, need no stack).
 */
export function requireClusterSpec(
  env: string,
  opts: { inventoryDir?: string; stackOutputs?: string } = {},
): ClusterSpec & { file: string } {
  const spec = requireSpec(env, opts.inventoryDir);
  if (!spec.nodes.some((n) => n.managed)) return spec;
  try {
    const outputsFile = opts.stackOutputs ?? process.env.YAGURA_STACK_OUTPUTS;
    const joined = withStackNodes(spec, readStackNodes(spec.env, { outputsFile }));
    const apiEndpoint = readStackApiEndpoint(spec.env, { outputsFile });
    return { ...joined, ...(apiEndpoint !== undefined ? { apiEndpoint } : {}), file: spec.file };
  } catch (err) {
    if (err instanceof StackOutputsError) throw new UserError(err.message, err.details);
    throw err;
  }
}

/** One-paragraph summary printed by `validate`. */
export function summarize(spec: ClusterSpec): string {
  const inv = spec.inventory;
  const cp = spec.nodes.filter((n) => n.role === "control-plane").length;
  const workers = spec.nodes.length - cp;
  const kinds = [...new Set(spec.nodes.map((n) => n.kind))].join(", ");
  const where = inv.openstack
    ? `OpenStack cloud "${inv.openstack.cloud}" region ${inv.openstack.region}`
    : "static nodes";
  return [
    `${spec.env}: valid`,
    `  cluster ${inv.cluster.name}, Kubernetes ${inv.cluster.kubernetesVersion}, ${where}`,
    `  ${spec.nodes.length} nodes (${cp} control-plane, ${workers} worker; ${kinds || "none"})`,
    `  pods ${inv.cluster.podCIDR}, services ${inv.cluster.serviceCIDR}, ` +
      (inv.networking.cni === "bridge"
        ? "bridge pod network (routed, no encapsulation)"
        : `Calico ${inv.networking.calico.encapsulation} AS ${inv.networking.calico.asNumber}`),
  ].join("\n");
}

/** The normalised inventory plus the expanded node list, as YAML or JSON. */
export function showInventory(spec: ClusterSpec, json: boolean): string {
  const doc = { env: spec.env, inventory: spec.inventory, nodes: spec.nodes };
  return json ? JSON.stringify(doc, null, 2) : stringify(doc);
}
