/**
 * kube-remove-nodes: Nodes registered in the API but no longer in the inventory are cordoned
 * (nothing new lands there) and their Node objects deleted. Draining workloads off a machine that
 * is going away is the rebuild flow's job, before the machine is removed from the inventory.
 */
import { command, sequenceOp, type Op } from "../types.js";
import { kubeOf } from "./steps.js";

/** Cordons, then deletes, each named Node. */
export function kubeRemoveNodesOp(nodes: readonly string[]): Op {
  return sequenceOp(
    "kube-remove-nodes",
    nodes,
    nodes.flatMap((name) => [
      command("cordon", name, async (ctx) => {
        const kube = kubeOf(ctx, "cordon");
        // Already gone is done: the op may be re-run after a failure half-way.
        if (!(await kube.get({ apiVersion: "v1", kind: "Node", name }))) return;
        await kube.cordon(name, true);
      }),
      command("delete-node", name, async (ctx) => {
        await kubeOf(ctx, "delete-node").delete({ apiVersion: "v1", kind: "Node", name });
      }),
    ]),
  );
}
