/**
 * Ops that (re)start Kubernetes components: nodes in parallel (the rung chooses how many at once),
 * each node's components in order. A (re)started apiserver must answer /readyz on its node
 * before the op ends, so the next pass sees it healthy before touching another apiserver.
 */
import type { Supervisor } from "../../supervisor/types.js";
import { parallelCommand, sequenceOp, type Op } from "../types.js";
import { bringUp, waitApiserverReady, type ComponentStart } from "./service.js";

/** The components to bring up on one node, in order. */
export interface StartTarget {
  readonly node: string;
  readonly supervisor: Supervisor;
  readonly components: readonly ComponentStart[];
}

/** (Re)starts each target's components; `name` is the op name (k8s-kube-apiserver, k8s-node-components …). */
export function startComponentsOp(name: string, targets: readonly StartTarget[]): Op {
  const byNode = new Map(targets.map((t) => [t.node, t]));
  const nodes = targets.map((t) => t.node);
  return sequenceOp(name, nodes, [
    parallelCommand(`start-${name.replace(/^k8s-/, "")}`, nodes, async (ctx, node) => {
      const t = byNode.get(node)!;
      for (const c of t.components) {
        await bringUp(ctx, node, t.supervisor, c);
        if (c.name === "kube-apiserver") await waitApiserverReady(ctx, node);
      }
    }),
  ]);
}
