/** etcd-wait: wait until the cluster has a leader and a healthy quorum (bounded; fails after). */
import { command, sequenceOp, type Op } from "../types.js";
import { clusterHealthy, pollUntil, withAdmin } from "./steps.js";

/** Waits up to `timeoutMs` for a healthy cluster on these client URLs. */
export function etcdWaitOp(targets: readonly string[], endpoints: readonly string[], timeoutMs = 60_000): Op {
  return sequenceOp("etcd-wait", targets, [
    command("wait-etcd-healthy", "etcd", (ctx) =>
      withAdmin(ctx, endpoints, (admin) =>
        pollUntil(ctx, "etcd healthy", timeoutMs, () => clusterHealthy(admin, endpoints)),
      ),
    ),
  ]);
}
