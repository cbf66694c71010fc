/**
 * Rung 5: kubelet and kube-proxy on every node. First the certificates and files; then the boot
 * gate: a node whose gate does not hold the current boot id (it rebooted, or its kubelet never
 * started) gets the boot taint back through the API before the gate opens and its kubelet runs;
 * then kubelet and kube-proxy are (re)started in batches of at most
 * reconciler.maxConcurrentUpdates nodes, the ones not running first.
 */
import type { ClusterStatus } from "../cluster/status.js";
import type { ClusterSpec } from "../cluster/spec.js";
import { componentOf, NODE_COMPONENTS } from "../k8s/desired.js";
import {
  componentState,
  driftedComponents,
  filesToWrite,
  isBroken,
  reachableNodes,
  type ReachableNode,
} from "../k8s/state.js";
import { bootGateOp } from "../ops/k8s/boot-taint.js";
import { k8sFilesOp } from "../ops/k8s/files.js";
import { componentStart } from "../ops/k8s/service.js";
import { startComponentsOp, type StartTarget } from "../ops/k8s/start.js";
import type { Decision, DecideOptions } from "./types.js";

type Node = ReachableNode;

const NC = NODE_COMPONENTS as readonly string[];

/** Components of a node that need a (re)start, in start order, and whether any is not running. */
function pending(n: Node): { names: string[]; broken: boolean } {
  const names: string[] = [];
  let broken = false;
  for (const name of NODE_COMPONENTS) {
    const c = componentOf(n.d, name);
    if (!c) continue;
    // Kubelet health is reported, not acted on: a failing runtime would make restarts loop.
    const st = componentState(n.s, c, false);
    if (st === "ok") continue;
    names.push(name);
    broken ||= isBroken(st);
  }
  return { names, broken };
}

function target(n: Node, names: readonly string[]): StartTarget {
  return {
    node: n.name,
    supervisor: n.d.supervisor,
    components: names.map((name) => {
      const c = componentOf(n.d, name as (typeof NODE_COMPONENTS)[number])!;
      return componentStart(c, n.s.services[name]?.running === true);
    }),
  };
}

/** Decides the node components' next step; undefined when every reachable node runs them as desired. */
export function decideNodeComponents(spec: ClusterSpec, status: ClusterStatus, o: DecideOptions): Decision | undefined {
  const k = o.desired.k8s;
  if (!k) return undefined;
  const nodes = reachableNodes(spec, status, k);
  const files = nodes
    .map((n) => ({ node: n.name, files: filesToWrite(n.s, n.d, NC), forget: driftedComponents(n.s, n.d, NC) }))
    .filter((t) => t.files.length);
  if (files.length) {
    return {
      phase: "k8s-node-files",
      ops: [k8sFilesOp("k8s-node-files", files)],
      message: `writing kubelet and kube-proxy certificates and files on ${files.map((t) => t.node).join(", ")}`,
    };
  }
  const gated = nodes.filter((n) => n.s.bootGateOpen === false).map((n) => n.name);
  if (gated.length) {
    if (!status.kube?.ready) {
      return {
        phase: "k8s-boot-gate-waiting-for-api",
        ops: [],
        message: `the kubelet on ${gated.join(", ")} is held back until the boot taint is back on its Node, and the API does not answer: ${status.kube?.error ?? "it was not observed in this pass"}`,
      };
    }
    const rebooted = gated.filter((g) => status.kube!.nodes[g] !== undefined);
    return {
      phase: "k8s-boot-gate",
      ops: [bootGateOp(gated, spec.inventory.cluster.bootTaint)],
      message:
        `opening the kubelet's boot gate on ${gated.join(", ")}` +
        (rebooted.length ? ` after putting the boot taint back on ${rebooted.join(", ")}` : ""),
    };
  }
  const todo = nodes.map((n) => ({ n, p: pending(n) })).filter((x) => x.p.names.length);
  if (!todo.length) return undefined;
  // Not running first: starting those takes nothing away; outdated ones are restarted after.
  todo.sort((a, b) => Number(b.p.broken) - Number(a.p.broken));
  const max = spec.inventory.reconciler?.maxConcurrentUpdates ?? 3;
  const batch = todo.slice(0, max);
  return {
    phase: "k8s-node-components",
    ops: [
      startComponentsOp(
        "k8s-node-components",
        batch.map((x) => target(x.n, x.p.names)),
      ),
    ],
    message:
      `(re)starting ${batch.map((x) => `${x.p.names.join("+")} on ${x.n.name}`).join(", ")}` +
      (todo.length > batch.length ? `; ${todo.length - batch.length} more node(s) in later batches of ${max}` : ""),
  };
}
