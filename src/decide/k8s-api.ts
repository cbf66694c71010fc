/** Rung 7a: wait for the API (default service account), then the RBAC yagura's components need. */
import type { ClusterStatus } from "../cluster/status.js";
import type { ClusterSpec } from "../cluster/spec.js";
import type { Decision, DecideOptions } from "./types.js";

/** Not built yet: says so instead of pretending the cluster is complete. */
export function decideApiReady(_spec: ClusterSpec, _status: ClusterStatus, _o: DecideOptions): Decision | undefined {
  return {
    phase: "k8s-api-not-built",
    ops: [],
    message:
      "waiting for the API and its RBAC are not managed by this version of yagura (run with --scope etcd to stop after etcd)",
  };
}
