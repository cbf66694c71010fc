/**
 * k8s-boot-gate: for nodes whose kubelet is held back by its boot gate (a reboot, or a first
 * start), put the boot taint back on the Node object when it exists, then open the gate for the
 * current boot. A node not registered yet needs no API call: its kubelet registers with the
 * taint (registerWithTaints). Taints yagura did not set are kept as they are.
 */
import type { KubeApi } from "../../infra/kube-types.js";
import type { Taint } from "../../inventory/schema.js";
import { openBootGateScript } from "../../k8s/boot-gate.js";
import { command, sequenceOp, type Command, type Op } from "../types.js";

/** The boot taint as the kubelet registers it. */
export function bootTaintOf(key: string): Taint {
  return { key, value: "", effect: "NoSchedule" };
}

/** Adds the boot taint to a registered Node that lacks it; returns whether it called the API. */
export async function ensureBootTaint(kube: KubeApi, node: string, key: string): Promise<boolean> {
  const n = (await kube.listNodes()).find((x) => x.name === node);
  if (!n || n.taints.some((t) => t.key === key && t.effect === "NoSchedule")) return false;
  await kube.setNodeTaints(node, [...n.taints, bootTaintOf(key)]);
  return true;
}

/** Re-taints (through the API) then opens the gate, one node after another. */
export function bootGateOp(nodes: readonly string[], bootTaint: string): Op {
  const cmds: Command[] = [];
  for (const node of nodes) {
    cmds.push(
      command("re-add-boot-taint", node, async (ctx) => {
        if (!ctx.kube)
          throw new Error(
            `no Kubernetes API client in this pass, so the boot taint cannot be put back on ${node}; its kubelet stays held back until the API answers`,
          );
        await ensureBootTaint(ctx.kube, node, bootTaint);
      }),
      command("open-boot-gate", node, async (ctx) => {
        await ctx.shell.run(node, "sh -s", { stdin: openBootGateScript() });
      }),
    );
  }
  return sequenceOp("k8s-boot-gate", nodes, cmds);
}
