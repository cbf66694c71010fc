/** Rung 1b: every component binary present with the right sha256 on every node that runs it. */
import type { ClusterStatus } from "../cluster/status.js";
import type { ClusterSpec } from "../cluster/spec.js";
import type { Decision, DecideOptions } from "./types.js";

/** Not built yet: no artifact work is decided. */
export function decideArtifacts(_spec: ClusterSpec, _status: ClusterStatus, _o: DecideOptions): Decision | undefined {
  return undefined;
}
