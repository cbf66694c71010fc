/**
 * The first Kubernetes rung: every node's container runtime. A node that lacks what the runtime
 * or the pod network needs stops here with what to install; then containerd's config and start
 * script are written where they differ (a running containerd whose files were edited loses its
 * fingerprint, so it restarts from the repaired files); then containerd is started where it is
 * not running, all such nodes at once (that takes nothing away), and restarted where it runs an
 * outdated configuration, in batches of reconciler.maxConcurrentUpdates (running containers
 * survive a containerd restart; their shims keep them).
 */
import type { ClusterStatus } from "../cluster/status.js";
import type { ClusterSpec } from "../cluster/spec.js";
import { componentState, isBroken, reachableNodes, type ReachableNode } from "../k8s/state.js";
import { k8sFilesOp, type FilesTarget } from "../ops/k8s/files.js";
import { startComponentsOp } from "../ops/k8s/start.js";
import type { Decision, DecideOptions } from "./types.js";

type Node = ReachableNode;

/** The runtime's files that differ on the node, and whether a running runtime read an edited one. */
function runtimeFiles(n: Node): FilesTarget | undefined {
  const files = n.d.runtime.files.filter((f) => n.s.files[f.path] !== f.sha256);
  if (!files.length) return undefined;
  const edited = files.some((f) => n.s.files[f.path] !== undefined);
  const recorded = n.s.services[n.d.runtime.name]?.fingerprint !== undefined;
  return { node: n.name, files, forget: edited && recorded ? [n.d.runtime.name] : [] };
}

/** Decides the container runtime's next step; undefined when every reachable node runs it as desired. */
export function decideRuntime(spec: ClusterSpec, status: ClusterStatus, o: DecideOptions): Decision | undefined {
  const k = o.desired.k8s;
  if (!k) return undefined;
  const nodes = reachableNodes(spec, status, k);
  const lacking = nodes.filter((n) => n.s.prerequisites.kubernetesMissing?.length);
  if (lacking.length) {
    return {
      phase: "runtime-prerequisites-missing",
      ops: [],
      message: lacking.map((n) => `${n.name}: install ${n.s.prerequisites.kubernetesMissing!.join(", ")}`).join("; "),
    };
  }
  const files = nodes.map(runtimeFiles).filter((t) => t !== undefined);
  if (files.length) {
    return {
      phase: "runtime-files",
      ops: [k8sFilesOp("runtime-files", files)],
      message: `writing containerd's config and start script on ${files.map((t) => t.node).join(", ")}`,
    };
  }
  const todo = nodes.map((n) => ({ n, st: componentState(n.s, n.d.runtime, false) })).filter((x) => x.st !== "ok");
  if (!todo.length) return undefined;
  const broken = todo.filter((x) => isBroken(x.st));
  const max = spec.inventory.reconciler?.maxConcurrentUpdates ?? 3;
  const batch = broken.length ? broken : todo.slice(0, max);
  return {
    phase: "runtime-containerd",
    ops: [
      startComponentsOp(
        "runtime-containerd",
        batch.map((x) => ({
          node: x.n.name,
          supervisor: x.n.d.supervisor,
          components: [
            {
              name: x.n.d.runtime.name,
              fingerprint: x.n.d.runtime.fingerprint,
              running: x.n.s.services[x.n.d.runtime.name]?.running === true,
            },
          ],
        })),
      ),
    ],
    message: broken.length
      ? `starting containerd on ${batch.map((x) => `${x.n.name} (${x.st})`).join(", ")}`
      : `restarting containerd with its new configuration on ${batch.map((x) => x.n.name).join(", ")}` +
        (todo.length > batch.length ? `; ${todo.length - batch.length} more node(s) in later batches of ${max}` : ""),
  };
}
