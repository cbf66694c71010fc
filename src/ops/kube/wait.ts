/**
 * Waits that are ops rather than op-less phases: the loop ends a reconcile on a phase without ops
 * (stuck), so waiting for something that is on its way (an apiserver starting, a kubelet
 * registering) must be a bounded op. It fails with the last reason at its deadline, and the next
 * pass observes and decides again.
 */
import { pollUntil } from "../etcd/steps.js";
import { withLogTails } from "../log-tail.js";
import type { Supervisor } from "../../supervisor/types.js";
import { command, sequenceOp, type Op } from "../types.js";
import { DEFAULT_SERVICE_ACCOUNT, KUBE_TARGET, kubeOf } from "./steps.js";

/** How long the API gets to become ready with its default ServiceAccount. */
export const API_WAIT_MS = 180_000;
/** How long kubelets get to register their Node. */
export const REGISTER_WAIT_MS = 120_000;

/** kube-wait-api: /readyz ok and the default ServiceAccount present (the controller manager works). */
export function kubeWaitApiOp(targets: readonly string[], timeoutMs = API_WAIT_MS): Op {
  return sequenceOp("kube-wait-api", targets, [
    command("wait-api-ready", KUBE_TARGET, async (ctx) => {
      const kube = kubeOf(ctx, "wait-api-ready");
      await pollUntil(ctx, "the Kubernetes API ready with the default ServiceAccount", timeoutMs, async () => {
        const r = await kube.readyz();
        if (!r.ok) return `readyz: ${r.body.slice(0, 200)}`;
        const sa = await kube.get(DEFAULT_SERVICE_ACCOUNT);
        return sa ? true : "no ServiceAccount default/default yet (is kube-controller-manager running?)";
      });
    }),
  ]);
}

/** How long a running kubelet gets to register before it is restarted (it registers only when it starts). */
export const REGISTER_RESTART_AFTER_MS = 60_000;

/**
 * kube-wait-nodes: every named node has registered its Node object. A kubelet registers only when
 * it starts, so one that runs while its Node is gone (deleted through the API) would never come
 * back: the nodes in `restartable` (their kubelet runs) that are still missing after
 * REGISTER_RESTART_AFTER_MS get their kubelet restarted once, and are waited for again. At the
 * deadline the error carries the last lines of each missing node's kubelet log.
 */
export function kubeWaitNodesOp(
  nodes: readonly string[],
  supervisors: Readonly<Record<string, Supervisor>>,
  restartable: readonly string[] = [],
  timeoutMs = REGISTER_WAIT_MS,
): Op {
  return sequenceOp("kube-wait-nodes", nodes, [
    command("wait-nodes-registered", KUBE_TARGET, async (ctx) => {
      const kube = kubeOf(ctx, "wait-nodes-registered");
      let missing = [...nodes];
      const registered = async () => {
        const have = new Set((await kube.listNodes()).map((n) => n.name));
        missing = nodes.filter((n) => !have.has(n));
        return missing.length === 0 ? true : `not registered yet: ${missing.join(", ")}`;
      };
      // A wait that times out says what the missing nodes' kubelets last logged.
      const kubeletLogs = () =>
        missing
          .filter((n) => supervisors[n])
          .map((n) => ({ node: n, component: "kubelet", supervisor: supervisors[n]! }));
      await withLogTails(ctx, kubeletLogs, async () => {
        const first = restartable.length ? Math.min(REGISTER_RESTART_AFTER_MS, timeoutMs) : timeoutMs;
        try {
          await pollUntil(ctx, `Nodes ${nodes.join(", ")} registered`, first, registered);
          return;
        } catch (err) {
          const stale = missing.filter((n) => restartable.includes(n) && supervisors[n]);
          if (!stale.length) throw err;
          for (const n of stale) await ctx.shell.run(n, "sh -s", { stdin: supervisors[n]!.restartScript("kubelet") });
        }
        await pollUntil(ctx, `Nodes ${nodes.join(", ")} registered after a kubelet restart`, timeoutMs, registered);
      });
    }),
  ]);
}

/** How long the controller manager gets to allocate registered nodes' pod ranges. */
export const POD_CIDR_WAIT_MS = 60_000;

/** kube-wait-pod-cidrs: every named Node has spec.podCIDR (the bridge network needs it). */
export function kubeWaitPodCidrsOp(nodes: readonly string[], timeoutMs = POD_CIDR_WAIT_MS): Op {
  return sequenceOp("kube-wait-pod-cidrs", nodes, [
    command("wait-pod-cidrs", KUBE_TARGET, async (ctx) => {
      const kube = kubeOf(ctx, "wait-pod-cidrs");
      await pollUntil(ctx, `pod ranges allocated to ${nodes.join(", ")}`, timeoutMs, async () => {
        const have = new Map((await kube.listNodes()).map((n) => [n.name, n.podCIDR]));
        const missing = nodes.filter((n) => !have.get(n));
        return missing.length === 0
          ? true
          : `no spec.podCIDR yet on ${missing.join(", ")} (kube-controller-manager allocates it with --allocate-node-cidrs)`;
      });
    }),
  ]);
}
