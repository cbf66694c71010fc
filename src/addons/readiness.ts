/**
 * When a node's boot taint may come off: its CNI pod is Ready, its NetworkUnavailable condition is
 * not True, and, on nodes that need one, the CSI node plugin is registered. Pure, so decide and the
 * wait op (which re-reads the API) judge a node the same way.
 */
import type { KubeNode } from "../infra/kube-types.js";
import type { AddonsDesired } from "./desired.js";

/** What the judgement reads about the cluster (a subset of KubeStatus). */
export interface ReadinessFacts {
  readonly nodes: Readonly<Record<string, KubeNode>>;
  readonly daemonSetPods: Readonly<Record<string, Readonly<Record<string, boolean>>>>;
  readonly csiDrivers: Readonly<Record<string, readonly string[]>>;
}

/** The gates of the boot taint, from the add-ons' desired state. */
export type TaintGates = Pick<AddonsDesired, "cni" | "csi">;

/** True when `node` may lose its boot taint; otherwise why not (for the phase message). */
export function bootTaintReady(node: string, facts: ReadinessFacts, gates: TaintGates): true | string {
  const n = facts.nodes[node];
  if (!n) return "not registered";
  if (n.conditions["NetworkUnavailable"] === "True") return "NetworkUnavailable is True";
  if (gates.cni) {
    const pods = facts.daemonSetPods[`${gates.cni.namespace}/${gates.cni.name}`] ?? {};
    if (pods[node] === undefined) return `no ${gates.cni.name} pod yet`;
    if (!pods[node]) return `${gates.cni.name} pod not Ready`;
  } else if (n.conditions["Ready"] !== "True") {
    // No CNI bundle is managed here: the kubelet's Ready condition is the only sign the network is up.
    return "node not Ready";
  }
  if (gates.csi && gates.csi.nodes.includes(node) && !(facts.csiDrivers[node] ?? []).includes(gates.csi.driver)) {
    return `CSI driver ${gates.csi.driver} not registered`;
  }
  return true;
}

/** Nodes that carry the boot taint, split into those ready to lose it and those still waiting (with why). */
export function bootTaintNodes(
  taintKey: string,
  facts: ReadinessFacts,
  gates: TaintGates,
): { ready: string[]; waiting: { node: string; why: string }[] } {
  const ready: string[] = [];
  const waiting: { node: string; why: string }[] = [];
  for (const n of Object.values(facts.nodes).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (!n.taints.some((t) => t.key === taintKey)) continue;
    const r = bootTaintReady(n.name, facts, gates);
    if (r === true) ready.push(n.name);
    else waiting.push({ node: n.name, why: r });
  }
  return { ready, waiting };
}
