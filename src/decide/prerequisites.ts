/** Rung 1: every reachable node has its prerequisites; yagura tells what to install, it does not guess. */
import type { ClusterStatus } from "../cluster/status.js";
import type { ClusterSpec } from "../cluster/spec.js";
import type { Decision, DecideOptions } from "./types.js";

/** `node-prerequisites-missing` (no op) when a reachable node lacks something. */
export function decidePrerequisites(spec: ClusterSpec, status: ClusterStatus, _o: DecideOptions): Decision | undefined {
  const lacking = spec.nodes
    .map((n) => status.nodes[n.name])
    .filter((st) => st?.reachable && !st.prerequisites.ok)
    .map((st) => `${st!.name}: install ${st!.prerequisites.missing.join(", ")}`);
  if (lacking.length === 0) return undefined;
  return { phase: "node-prerequisites-missing", ops: [], message: lacking.join("; ") };
}
