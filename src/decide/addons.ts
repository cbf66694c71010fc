/**
 * Rung 7b: cluster objects in rank order. Missing or outdated objects (by revision) are applied in
 * one op, CRDs waited for until Established; Deployments that need the pod network wait until more
 * than half the nodes are Ready; the record of managed objects follows, pruning when asked.
 */
import { planApply } from "../addons/apply.js";
import type { ClusterStatus } from "../cluster/status.js";
import type { ClusterSpec } from "../cluster/spec.js";
import { ADDON_BUNDLES } from "../inventory/schema.js";
import { addonsApplyOp } from "../ops/addons/apply.js";
import { nodesReadyWaitOp } from "../ops/addons/wait.js";
import type { Decision, DecideOptions } from "./types.js";

const names = (objs: readonly { kind: string; metadata: { name: string } }[]) =>
  objs.map((o) => `${o.kind}/${o.metadata.name}`).join(", ");

/** The add-on rung: apply what is due, wait for Ready nodes when only held-back Deployments remain. */
export function decideAddons(spec: ClusterSpec, status: ClusterStatus, o: DecideOptions): Decision | undefined {
  const a = o.desired.addons;
  if (!a) {
    const wanted = ADDON_BUNDLES.filter((b) => spec.inventory.addons?.bundles[b] !== undefined);
    if (wanted.length === 0) return undefined; // no add-ons in this inventory
    return {
      phase: "addons-aborted",
      ops: [],
      message: `the inventory lists add-ons (${wanted.join(", ")}) but their objects were not prepared for this pass (a bug in yagura)`,
    };
  }
  const kube = status.kube;
  if (!kube?.ready) {
    return {
      phase: "addons-aborted",
      ops: [],
      message: `the Kubernetes API is not ready (${kube?.error ?? "not observed"}); cluster objects wait for it`,
    };
  }
  const plan = planApply(a, kube, spec.nodes.length);
  const op = addonsApplyOp(plan, a);
  if (op) {
    const held = plan.heldBack.length
      ? `; held back until more than half the nodes are Ready: ${names(plan.heldBack)}`
      : "";
    return {
      phase: "addons-apply",
      ops: [op],
      message: `applying ${plan.apply.length} object${plan.apply.length === 1 ? "" : "s"} in rank order${
        plan.apply.length ? `: ${names(plan.apply.slice(0, 8))}${plan.apply.length > 8 ? ", …" : ""}` : ""
      }${held}`,
    };
  }
  if (plan.heldBack.length > 0) {
    return {
      phase: "addons-wait-nodes",
      ops: [nodesReadyWaitOp(spec.nodes.length)],
      message: `waiting for more than half of ${spec.nodes.length} nodes to be Ready before ${names(plan.heldBack)}`,
    };
  }
  return undefined;
}
