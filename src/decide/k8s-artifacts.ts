/**
 * Rung 1b: every component binary present with the right sha256 on every node that runs it.
 * Missing or wrong binaries the source can provide (a local file that checks out, or the mirror)
 * are installed; those it cannot (the node image, a wrong local file) stop the ladder with a
 * message naming the file, the expected checksum and the setting to change.
 */
import type { ClusterStatus } from "../cluster/status.js";
import type { ClusterSpec } from "../cluster/spec.js";
import { artifactProblem, type ArtifactPlan } from "../k8s/artifacts.js";
import { installArtifactsOp, type ArtifactTarget } from "../ops/k8s/artifacts.js";
import type { Decision, DecideOptions } from "./types.js";

/** Decides artifact installs, or stops with every problem the source cannot fix. */
export function decideArtifacts(spec: ClusterSpec, status: ClusterStatus, o: DecideOptions): Decision | undefined {
  const k = o.desired.k8s;
  if (!k) {
    return {
      phase: "k8s-material-missing",
      ops: [],
      message:
        "no Kubernetes material was prepared for scope all (a bug in yagura: the session was opened for scope etcd)",
    };
  }
  if (!k.artifacts.plan.ok) {
    return {
      phase: "k8s-artifacts-invalid",
      ops: [],
      message: `the inventory's artifacts section cannot be used: ${k.artifacts.plan.problems.join("; ")}`,
    };
  }
  const install: ArtifactTarget[] = [];
  const stuck: string[] = [];
  for (const node of spec.nodes) {
    const s = status.nodes[node.name];
    const d = k.nodes[node.name];
    if (!s?.reachable || !d) continue;
    const todo: ArtifactPlan[] = [];
    for (const p of d.artifacts) {
      const v = s.artifacts?.[p.name] ?? { state: "missing" as const };
      if (v.state === "ok") continue;
      const local = k.artifacts.localProblems[p.name];
      if (p.origin.kind === "image") stuck.push(artifactProblem(node.name, p, v)!);
      else if (local !== undefined) stuck.push(`${artifactProblem(node.name, p, v)!}; and ${local}`);
      else todo.push(p);
    }
    if (todo.length) install.push({ node: node.name, plans: todo });
  }
  if (install.length) {
    const n = install.reduce((a, t) => a + t.plans.length, 0);
    return {
      phase: "k8s-artifacts",
      ops: [installArtifactsOp(install)],
      message: `installing ${n} binar${n === 1 ? "y" : "ies"} on ${install.map((t) => t.node).join(", ")}`,
    };
  }
  if (stuck.length) return { phase: "k8s-artifacts-missing", ops: [], message: stuck.join("\n") };
  return undefined;
}
