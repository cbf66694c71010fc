/**
 * etcd-start and etcd-restart. Start brings back members whose service is stopped (it can only
 * add voters back, so several at once is safe); restart replaces one running member's process
 * with the current definition and waits until that member answers again.
 */
import { command, parallelCommand, sequenceOp, type Op } from "../types.js";
import type { EtcdNodeDesired } from "./desired.js";
import { clientURL } from "./layout.js";
import { pollUntil, restartEtcd, startExistingEtcd, withAdmin } from "./steps.js";

/** Starts etcd on stopped members (each must still hold its data). */
export function etcdStartOp(targets: readonly EtcdNodeDesired[]): Op {
  const byName = new Map(targets.map((t) => [t.node.name, t]));
  const names = [...byName.keys()];
  return sequenceOp("etcd-start", names, [
    parallelCommand("start-etcd", names, async (ctx, node) => {
      const t = byName.get(node)!;
      await startExistingEtcd(ctx, node, t.supervisor, t.fingerprint);
    }),
  ]);
}

/** Restarts one member and waits until it is healthy again. */
export function etcdRestartOp(target: EtcdNodeDesired, timeoutMs = 60_000): Op {
  const node = target.node.name;
  const url = clientURL(target.node);
  return sequenceOp(
    "etcd-restart",
    [node],
    [
      command("restart-etcd", node, (ctx) => restartEtcd(ctx, node, target.supervisor, target.fingerprint)),
      command("wait-member-healthy", node, (ctx) =>
        withAdmin(ctx, [url], (admin) =>
          pollUntil(ctx, `etcd on ${node} healthy`, timeoutMs, async () => {
            const s = await admin.endpointStatus(url);
            return s.healthy ? true : (s.error ?? "not healthy");
          }),
        ),
      ),
    ],
  );
}
