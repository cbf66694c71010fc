/**
 * Rung 7a: wait for the API, then the RBAC yagura's components need.
 *
 * Waiting is an op (kube-wait-api, bounded), not an op-less phase: the loop ends a reconcile on a
 * phase without ops, and right after the control plane starts the API is expected to come up on
 * its own within seconds. "Ready" means /readyz ok and the default ServiceAccount in namespace
 * default exists, which proves the controller manager runs and talks to the API.
 * The RBAC objects carry a revision annotation; an object whose revision matches is not re-sent.
 */
import type { ClusterStatus } from "../cluster/status.js";
import { controlPlane, type ClusterSpec } from "../cluster/spec.js";
import { kubeApplyOp } from "../ops/kube/apply.js";
import { apiRbacObjects } from "../ops/kube/rbac.js";
import { keyOf, refOf, revisionOf } from "../addons/objects.js";
import { kubeWaitApiOp } from "../ops/kube/wait.js";
import type { Decision, DecideOptions } from "./types.js";

/** kube-wait-api until the API is ready; kube-apply of stale RBAC; else nothing (undefined). */
export function decideApiReady(spec: ClusterSpec, status: ClusterStatus, _o: DecideOptions): Decision | undefined {
  const kube = status.kube;
  if (!kube) {
    return {
      phase: "k8s-api-not-observed",
      ops: [],
      message: "the Kubernetes API was not observed in this pass (no API endpoint or admin certificate was prepared)",
    };
  }
  const cp = controlPlane(spec).map((n) => n.name);
  if (!kube.ready) {
    return {
      phase: "k8s-api-wait",
      ops: [kubeWaitApiOp(cp)],
      message: `the API is not ready: ${kube.error ?? "no reason given"}`,
    };
  }
  if (!kube.defaultServiceAccount) {
    return {
      phase: "k8s-api-wait",
      ops: [kubeWaitApiOp(cp)],
      message:
        "the API is ready but the ServiceAccount default/default does not exist yet (kube-controller-manager creates it)",
    };
  }
  const stale = apiRbacObjects(spec).filter((o) => kube.objects[keyOf(refOf(o))]?.revision !== revisionOf(o));
  if (stale.length) {
    return {
      phase: "k8s-api-rbac",
      ops: [kubeApplyOp("kube-apply-rbac", stale)],
      message: `RBAC for the apiserver to reach kubelets is missing or outdated: ${stale.map((o) => `${o.kind} ${o.metadata.name}`).join(", ")}`,
    };
  }
  return undefined;
}
