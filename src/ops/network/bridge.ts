/**
 * pod-network: puts the bridge network in place on nodes: the conflist for the node's pod range,
 * IPv4 forwarding on, a static route to each other node's pod range, and no stale route inside
 * the cluster's pod range. Every step is idempotent (`ip route replace`, a delete that tolerates
 * an absent route), so a re-run repairs whatever is still missing.
 */
import { shq } from "../../infra/shell.js";
import type { PodNetworkTarget, PodRoute } from "../../network/bridge.js";
import { scriptCommand, writeFilesCommand } from "../node/commands.js";
import { sequenceOp, type Command, type Op } from "../types.js";

const route = (r: PodRoute) => `${shq(r.dst)} via ${shq(r.via)} proto static`;

/** sh that enables forwarding and adds and removes the given routes. */
export function podRoutesScript(t: Pick<PodNetworkTarget, "add" | "remove">): string {
  return [
    "set -e",
    // Pods' traffic to other nodes is routed through this node.
    "echo 1 > /proc/sys/net/ipv4/ip_forward",
    ...t.add.map((r) => `ip route replace ${route(r)}`),
    ...t.remove.map((r) => `ip route del ${route(r)} 2>/dev/null || true`),
  ].join("\n");
}

/** Brings each target's pod network in line. */
export function podNetworkOp(targets: readonly PodNetworkTarget[]): Op {
  const cmds: Command[] = [];
  for (const t of targets) {
    if (t.conflist) cmds.push(writeFilesCommand("write-cni-config", t.node, [t.conflist]));
    cmds.push(scriptCommand("pod-routes", t.node, podRoutesScript(t)));
  }
  return sequenceOp(
    "pod-network",
    targets.map((t) => t.node),
    cmds,
  );
}
