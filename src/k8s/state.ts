/**
 * Pure questions the Kubernetes rungs ask about one node: what state a component is in, which
 * files differ, which components drifted. Small named predicates, so the rungs read like a runbook.
 */
import type { ClusterStatus, NodeStatus } from "../cluster/status.js";
import type { ClusterSpec } from "../cluster/spec.js";
import type { ManagedFile } from "../supervisor/types.js";
import type { K8sDesired, K8sNodeDesired } from "./desired.js";
import type { RenderedComponent, RenderedFile } from "./render/index.js";

/** A component's state on a node, worst first. */
export type ComponentState = "absent" | "stopped" | "unhealthy" | "outdated" | "ok";

/**
 * The state of a component. `useHealth`: a failed loopback probe counts as unhealthy (for the
 * apiserver, whose restart waits for /readyz; not for the kubelet, whose health may depend on
 * things a restart does not fix, such as the container runtime).
 */
export function componentState(
  s: NodeStatus,
  c: Pick<RenderedComponent, "fingerprint"> & { readonly name: string },
  useHealth: boolean,
): ComponentState {
  const svc = s.services[c.name];
  if (!svc || !svc.present) return "absent";
  if (!svc.running) return "stopped";
  if (useHealth && s.health?.[c.name] === false) return "unhealthy";
  if (svc.fingerprint !== c.fingerprint) return "outdated";
  return "ok";
}

/** True for states a restart repairs without taking a serving component away. */
export function isBroken(state: ComponentState): boolean {
  return state === "absent" || state === "stopped" || state === "unhealthy";
}

/** The files of the node's certificates and of `components` whose hash on the node differs. */
export function filesToWrite(s: NodeStatus, d: K8sNodeDesired, components: readonly string[]): RenderedFile[] {
  const files = [...d.certs, ...d.components.filter((c) => components.includes(c.name)).flatMap((c) => c.files)];
  return files.filter((f) => s.files[f.path] !== f.sha256);
}

const edited = (s: NodeStatus, f: ManagedFile & { sha256: string }) =>
  s.files[f.path] !== undefined && s.files[f.path] !== f.sha256;

/**
 * Components (among `components`) that run with a recorded fingerprint although one of their
 * files, or one of the node's certificates, was changed on the node: they must restart once the
 * files are repaired, since the process may have read the edit.
 */
export function driftedComponents(s: NodeStatus, d: K8sNodeDesired, components: readonly string[]): string[] {
  const certEdited = d.certs.some((f) => edited(s, f));
  return d.components
    .filter((c) => components.includes(c.name))
    .filter((c) => s.services[c.name]?.fingerprint !== undefined)
    .filter((c) => certEdited || c.files.some((f) => edited(s, f)))
    .map((c) => c.name);
}

/** A node the Kubernetes rungs can act on: what it reported and what it should run. */
export interface ReachableNode {
  readonly name: string;
  readonly s: NodeStatus;
  readonly d: K8sNodeDesired;
}

/** The inventory's nodes that answered this pass and have a desired Kubernetes state, in inventory order. */
export function reachableNodes(spec: ClusterSpec, status: ClusterStatus, k: K8sDesired): ReachableNode[] {
  const out: ReachableNode[] = [];
  for (const n of spec.nodes) {
    const s = status.nodes[n.name];
    const d = k.nodes[n.name];
    if (s?.reachable && d) out.push({ name: n.name, s, d });
  }
  return out;
}
