/** addons-wait-nodes: held-back Deployments wait until more than half the nodes are Ready (bounded). */
import { pollUntil } from "../etcd/steps.js";
import { command, sequenceOp, type Op } from "../types.js";
import { kubeOf } from "./kube.js";

/** How long to wait for a majority of Ready nodes before the op fails (the next pass looks again). */
export const NODES_READY_WAIT_MS = 300_000;

/** Waits until more than half of `total` nodes report Ready. */
export function nodesReadyWaitOp(total: number, timeoutMs = NODES_READY_WAIT_MS): Op {
  return sequenceOp(
    "addons-wait-nodes",
    ["kube"],
    [
      command("wait-majority-ready", "kube", (ctx) =>
        pollUntil(ctx, `more than half of ${total} nodes Ready`, timeoutMs, async () => {
          const ready = (await kubeOf(ctx).listNodes()).filter((n) => n.conditions["Ready"] === "True").length;
          return ready * 2 > total ? true : `${ready} of ${total} nodes Ready`;
        }),
      ),
    ],
  );
}
