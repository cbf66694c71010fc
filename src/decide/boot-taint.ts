/**
 * Rung 8: the boot taint comes off a node only when its CNI pod is Ready (with the bridge network:
 * its CNI config and routes are in place and the node is Ready), its NetworkUnavailable condition
 * is not True and, on VM nodes with Cinder CSI, the CSI node plugin is registered.
 * Never early: a node that is not ready keeps the taint and the rung waits for it.
 */
import { bootTaintNodes } from "../addons/readiness.js";
import type { ClusterStatus } from "../cluster/status.js";
import type { ClusterSpec } from "../cluster/spec.js";
import { bootTaintRemoveOp, bootTaintWaitOp } from "../ops/addons/boot-taint.js";
import { supervisorFor } from "../supervisor/index.js";
import type { Decision, DecideOptions } from "./types.js";

/** The boot-taint rung: lift it from ready nodes, else wait for the first to become ready. */
export function decideBootTaint(spec: ClusterSpec, status: ClusterStatus, o: DecideOptions): Decision | undefined {
  const kube = status.kube;
  if (!kube?.ready) {
    return {
      phase: "boot-taint-aborted",
      ops: [],
      message: `the Kubernetes API is not ready (${kube?.error ?? "not observed"}); boot taints stay until it is`,
    };
  }
  const taint = spec.inventory.cluster.bootTaint;
  const gates = {
    ...(o.desired.addons?.cni ? { cni: o.desired.addons.cni } : {}),
    ...(o.desired.addons?.csi ? { csi: o.desired.addons.csi } : {}),
  };
  const judged = bootTaintNodes(taint, kube, gates);
  // The bridge network has no pod to watch: it is in place on a node when the pod-network rung
  // (before this one) found nothing to do there, which it can only tell of nodes it observed.
  const bridge = spec.inventory.networking.cni === "bridge";
  const ready = bridge ? judged.ready.filter((n) => status.nodes[n]?.reachable) : judged.ready;
  const waiting = judged.waiting;
  if (ready.length > 0) {
    return {
      phase: "boot-taint-remove",
      ops: [bootTaintRemoveOp(ready, taint, gates)],
      message: `lifting ${taint} from ${ready.join(", ")}: CNI${gates.csi ? " and CSI" : ""} ready`,
    };
  }
  if (waiting.length > 0) {
    return {
      phase: "boot-taint-wait",
      ops: [
        bootTaintWaitOp(
          waiting.map((w) => w.node),
          taint,
          gates,
          Object.fromEntries(
            spec.nodes.filter((n) => waiting.some((w) => w.node === n.name)).map((n) => [n.name, supervisorFor(n)]),
          ),
        ),
      ],
      message: `${taint} stays until the node is ready: ${waiting.map((w) => `${w.node} (${[w.why, ...nodeHints(status, w.node)].join("; ")})`).join(", ")}`,
    };
  }
  return undefined;
}

/** What the node itself shows that keeps it from Ready: its runtime or kubelet down or failing. */
export function nodeHints(status: ClusterStatus, node: string): string[] {
  const s = status.nodes[node];
  if (!s) return [];
  if (!s.reachable) return [`unreachable over SSH: ${s.error ?? "no answer"}`];
  const out: string[] = [];
  if (s.services["containerd"] && !s.services["containerd"].running) out.push("containerd is not running");
  if (s.services["kubelet"] && !s.services["kubelet"].running) out.push("the kubelet is not running");
  else if (s.health?.["kubelet"] === false) out.push("the kubelet fails its health check (see /var/log/kubelet)");
  return out;
}
