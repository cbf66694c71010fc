/**
 * Membership changes, one per pass (decide guarantees the quorum and reachability conditions):
 *   etcd-add-member     set a stale data dir aside, add the node as a learner (unless already
 *                       added), write `--initial-cluster-state existing`, start it
 *   etcd-promote        promote a learner once it has caught up (etcd refuses until then)
 *   etcd-remove-member  remove the member, stop its service, set its data dir aside
 */
import { command, sequenceOp, type Op } from "../types.js";
import type { EtcdNodeDesired } from "./desired.js";
import { bootstrapEnv, peerURL } from "./layout.js";
import { pollUntil, startEtcd, stopAndSetAside, withAdmin, writeBootstrapEnv } from "./steps.js";
import type { Supervisor } from "../../supervisor/types.js";

/** Options shared by membership ops. */
export interface MembershipOptions {
  /** Client URLs of the current healthy members. */
  readonly endpoints: readonly string[];
  /** Suffix for a data dir set aside (a timestamp from decide's `now`). */
  readonly asideSuffix: string;
  readonly token: string;
}

/** Adds `target` as a learner and starts it. */
export function etcdAddMemberOp(target: EtcdNodeDesired, moveAside: boolean, o: MembershipOptions): Op {
  const node = target.node.name;
  const url = peerURL(target.node);
  const cmds = [];
  if (moveAside) {
    cmds.push(
      command("set-aside-stale-data", node, (ctx) => stopAndSetAside(ctx, node, target.supervisor, o.asideSuffix)),
    );
  }
  let initial: { name: string; peerURL: string }[] = [];
  cmds.push(
    command("add-learner", "etcd", (ctx) =>
      withAdmin(ctx, o.endpoints, async (admin) => {
        // etcd answers "unhealthy cluster" until a just-promoted member has been active for a
        // few seconds (strict reconfig check); that passes, so retry for a while.
        let members = await admin.members();
        await pollUntil(ctx, `add learner ${node}`, 30_000, async () => {
          members = await admin.members();
          if (!members.some((m) => m.peerURLs.includes(url))) await admin.addLearner(url);
          members = await admin.members();
          return true;
        });
        initial = members
          .filter((m) => m.name !== "" || m.peerURLs.includes(url))
          .map((m) => ({ name: m.peerURLs.includes(url) ? node : m.name, peerURL: m.peerURLs[0]! }));
      }),
    ),
    command("write-bootstrap-env", node, async (ctx) => {
      await writeBootstrapEnv(ctx, node, bootstrapEnv(initial, "existing", o.token));
    }),
    command("start-etcd", node, (ctx) => startEtcd(ctx, node, target.supervisor, target.fingerprint)),
  );
  return sequenceOp("etcd-add-member", [node], cmds);
}

/** Promotes a learner, retrying while etcd says it has not caught up. */
export function etcdPromoteOp(node: string, memberId: string, endpoints: readonly string[], timeoutMs = 60_000): Op {
  return sequenceOp(
    "etcd-promote",
    [node],
    [
      command("promote-learner", "etcd", (ctx) =>
        withAdmin(ctx, endpoints, (admin) =>
          pollUntil(ctx, `promote ${node}`, timeoutMs, async () => {
            const m = (await admin.members()).find((x) => x.id === memberId);
            if (!m) throw new Error(`member ${memberId} is gone`);
            if (!m.isLearner) return true;
            await admin.promote(memberId);
            return true;
          }),
        ),
      ),
    ],
  );
}

/** Removes member `memberId`; when its node is known, also stops etcd there and sets the data aside. */
export function etcdRemoveMemberOp(
  memberId: string,
  label: string,
  node: { name: string; supervisor: Supervisor } | undefined,
  o: MembershipOptions,
): Op {
  const cmds = [
    command("remove-member", "etcd", (ctx) =>
      withAdmin(ctx, o.endpoints, async (admin) => {
        await pollUntil(ctx, `remove member ${label}`, 30_000, async () => {
          if ((await admin.members()).some((m) => m.id === memberId)) await admin.remove(memberId);
          return true;
        });
      }),
    ),
  ];
  if (node) {
    cmds.push(
      command("stop-and-set-aside", node.name, (ctx) =>
        stopAndSetAside(ctx, node.name, node.supervisor, o.asideSuffix),
      ),
    );
  }
  return sequenceOp("etcd-remove-member", [node?.name ?? label], cmds);
}
