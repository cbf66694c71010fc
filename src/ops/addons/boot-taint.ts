/**
 * boot-taint-remove: takes the boot taint off nodes whose CNI (and CSI) is ready, re-checking each
 * node on a fresh read and writing its taints guarded by resourceVersion, so a taint added in
 * between is never lost. boot-taint-wait: polls until a waiting node is ready (bounded; fails after).
 */
import { bootTaintNodes, type ReadinessFacts, type TaintGates } from "../../addons/readiness.js";
import { KubeApiError, type KubeApi } from "../../infra/kube-types.js";
import type { Supervisor } from "../../supervisor/types.js";
import { pollUntil } from "../etcd/steps.js";
import { withLogTails } from "../log-tail.js";
import { command, sequenceOp, type Op } from "../types.js";
import { kubeOf } from "./kube.js";

/** How often a taint write that lost a race (409) is re-read and retried. */
const CONFLICT_RETRIES = 5;

/** How long boot-taint-wait polls before it fails (the next pass looks again). */
export const BOOT_TAINT_WAIT_MS = 300_000;

/** The readiness facts, read fresh from the API. */
export async function readFacts(kube: KubeApi, gates: TaintGates): Promise<ReadinessFacts> {
  const nodes = Object.fromEntries((await kube.listNodes()).map((n) => [n.name, n]));
  const daemonSetPods: Record<string, Record<string, boolean>> = {};
  for (const ds of [gates.cni, gates.csi?.daemonSet]) {
    if (!ds) continue;
    const byNode: Record<string, boolean> = {};
    for (const p of await kube.listPods({ namespace: ds.namespace })) {
      if (p.owner?.kind !== "DaemonSet" || p.owner.name !== ds.name || !p.nodeName) continue;
      byNode[p.nodeName] = (byNode[p.nodeName] ?? false) || p.ready;
    }
    daemonSetPods[`${ds.namespace}/${ds.name}`] = byNode;
  }
  const csiDrivers: Record<string, string[]> = {};
  if (gates.csi) {
    for (const o of await kube.list("storage.k8s.io/v1", "CSINode")) {
      const drivers = (o["spec"] as { drivers?: { name: string }[] } | undefined)?.drivers ?? [];
      csiDrivers[o.metadata.name] = drivers.map((d) => d.name);
    }
  }
  return { nodes, daemonSetPods, csiDrivers };
}

/** Removes `taintKey` from `nodes` that are still ready on a fresh read. */
export function bootTaintRemoveOp(nodes: readonly string[], taintKey: string, gates: TaintGates): Op {
  return sequenceOp(
    "boot-taint-remove",
    nodes,
    nodes.map((node) =>
      command("remove-boot-taint", node, async (ctx) => {
        const kube = kubeOf(ctx);
        // The kubelet and node controller write a starting Node often: on a conflict, read and judge again.
        for (let attempt = 1; ; attempt++) {
          const facts = await readFacts(kube, gates);
          const n = facts.nodes[node];
          if (!n || !n.taints.some((t) => t.key === taintKey)) return; // gone or already lifted
          if (!bootTaintNodes(taintKey, { ...facts, nodes: { [node]: n } }, gates).ready.includes(node)) {
            throw new Error(`${node} is no longer ready for its boot taint to be lifted; the next pass looks again`);
          }
          try {
            await kube.setNodeTaints(
              node,
              n.taints.filter((t) => t.key !== taintKey),
              n.resourceVersion,
            );
            return;
          } catch (err) {
            if (!(err instanceof KubeApiError && err.status === 409) || attempt >= CONFLICT_RETRIES) throw err;
          }
        }
      }),
    ),
  );
}

/** Waits until one of `nodes` may lose its boot taint. */
export function bootTaintWaitOp(
  nodes: readonly string[],
  taintKey: string,
  gates: TaintGates,
  supervisors: Readonly<Record<string, Supervisor>> = {},
  timeoutMs = BOOT_TAINT_WAIT_MS,
): Op {
  return sequenceOp("boot-taint-wait", nodes, [
    command("wait-cni-ready", "kube", (ctx) => {
      let still: readonly string[] = nodes;
      // At the deadline the error carries the last lines of each still-waiting node's kubelet log.
      const kubeletLogs = () =>
        still
          .filter((n) => supervisors[n])
          .map((n) => ({ node: n, component: "kubelet", supervisor: supervisors[n]! }));
      return withLogTails(ctx, kubeletLogs, () =>
        pollUntil(ctx, `CNI ready on ${nodes.join(", ")}`, timeoutMs, async () => {
          const { ready, waiting } = bootTaintNodes(taintKey, await readFacts(kubeOf(ctx), gates), gates);
          if (ready.length > 0) return true;
          still = waiting.map((w) => w.node).filter((n) => nodes.includes(n));
          return waiting.map((w) => `${w.node}: ${w.why}`).join("; ") || "no node carries the boot taint";
        }),
      );
    }),
  ]);
}
