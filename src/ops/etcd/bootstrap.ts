/**
 * etcd-bootstrap: form a new cluster from every control-plane node (like CKE's op/etcd/boot.go).
 *   1. write the bootstrap env (`--initial-cluster-state new`, every member) on each node
 *   2. start etcd under the supervisor on each node, all at once (a lone member waits for peers)
 *   3. record the fingerprint each member runs with
 * Health is awaited by the next rung (etcd-wait). Re-running it on a half-booted cluster is safe:
 * the env file is rewritten with the same content and start is a no-op for a running service.
 */
import { parallelCommand, sequenceOp, type Op } from "../types.js";
import type { EtcdNodeDesired } from "./desired.js";
import { bootstrapEnv, peerURL } from "./layout.js";
import { startEtcd, writeBootstrapEnv } from "./steps.js";

/** Bootstraps etcd on `targets`; `members` is the whole initial cluster (every control-plane node). */
export function etcdBootstrapOp(
  members: readonly EtcdNodeDesired[],
  targets: readonly EtcdNodeDesired[],
  token: string,
): Op {
  const env = bootstrapEnv(
    members.map((m) => ({ name: m.node.name, peerURL: peerURL(m.node) })),
    "new",
    token,
  );
  const byName = new Map(targets.map((t) => [t.node.name, t]));
  const names = targets.map((t) => t.node.name);
  return sequenceOp("etcd-bootstrap", names, [
    parallelCommand("write-bootstrap-env", names, async (ctx, node) => {
      await writeBootstrapEnv(ctx, node, env);
    }),
    parallelCommand("start-etcd", names, async (ctx, node) => {
      const t = byName.get(node)!;
      await startEtcd(ctx, node, t.supervisor, t.fingerprint);
    }),
  ]);
}
