/**
 * Rung 4: the control plane. First the certificates and files of every reachable control-plane
 * node; then kube-apiserver: apiservers that do not serve (never started, stopped, failing
 * /readyz) are (re)started, all at once, since that takes nothing away; an outdated one is
 * restarted one node at a time and only while every other control-plane node answers and its
 * apiserver is healthy. Then controller-manager and scheduler the same way (leader election keeps
 * one of each active).
 */
import type { ClusterStatus, NodeStatus } from "../cluster/status.js";
import { controlPlane, type ClusterSpec } from "../cluster/spec.js";
import { componentOf, CONTROL_PLANE_COMPONENTS, NODE_COMPONENTS, type K8sNodeDesired } from "../k8s/desired.js";
import { componentState, driftedComponents, filesToWrite, isBroken, type ComponentState } from "../k8s/state.js";
import { k8sFilesOp } from "../ops/k8s/files.js";
import { componentStart } from "../ops/k8s/service.js";
import { startComponentsOp, type StartTarget } from "../ops/k8s/start.js";
import type { Decision, DecideOptions } from "./types.js";

interface Cp {
  readonly name: string;
  readonly s: NodeStatus;
  readonly d: K8sNodeDesired;
}

const CP = CONTROL_PLANE_COMPONENTS as readonly string[];
const ALL = [...CP, ...NODE_COMPONENTS] as readonly string[];

function target(cp: Cp, names: readonly string[]): StartTarget {
  return {
    node: cp.name,
    supervisor: cp.d.supervisor,
    components: names.map((n) => {
      const c = componentOf(cp.d, n as (typeof CONTROL_PLANE_COMPONENTS)[number])!;
      return componentStart(c, cp.s.services[n]?.running === true);
    }),
  };
}

const stateOf = (cp: Cp, name: string): ComponentState =>
  componentState(cp.s, componentOf(cp.d, name as (typeof CONTROL_PLANE_COMPONENTS)[number])!, true);

/** The apiserver step: repair what does not serve, else update one node while the rest are healthy. */
function decideApiservers(cps: readonly Cp[], unreachable: readonly string[]): Decision | undefined {
  const states = cps.map((cp) => ({ cp, st: stateOf(cp, "kube-apiserver") }));
  const broken = states.filter((x) => isBroken(x.st));
  if (broken.length) {
    const serving = states.length - broken.length;
    return {
      phase: "k8s-apiserver-start",
      ops: [
        startComponentsOp(
          "k8s-kube-apiserver",
          broken.map((x) => target(x.cp, ["kube-apiserver"])),
        ),
      ],
      message:
        `starting kube-apiserver on ${broken.map((x) => `${x.cp.name} (${x.st})`).join(", ")}` +
        (serving ? `; ${serving} other apiserver(s) keep serving` : ""),
    };
  }
  const outdated = states.filter((x) => x.st === "outdated");
  if (!outdated.length) return undefined;
  if (unreachable.length) {
    return {
      phase: "k8s-apiserver-update-aborted",
      ops: [],
      message: `kube-apiserver on ${outdated.map((x) => x.cp.name).join(", ")} is outdated, but ${unreachable.join(", ")} does not answer over SSH: an update restarts one apiserver at a time and only while every other one is known to be healthy`,
    };
  }
  const next = outdated[0]!;
  return {
    phase: "k8s-apiserver-update",
    ops: [startComponentsOp("k8s-kube-apiserver", [target(next.cp, ["kube-apiserver"])])],
    message:
      `restarting kube-apiserver on ${next.cp.name} with its new configuration (one node at a time` +
      (outdated.length > 1
        ? `; then ${outdated
            .slice(1)
            .map((x) => x.cp.name)
            .join(", ")}`
        : "") +
      ")",
  };
}

/** Controller manager and scheduler: start what is not running on any node, update one node at a time. */
function decideControllers(cps: readonly Cp[], unreachable: readonly string[]): Decision | undefined {
  const rest = CP.filter((c) => c !== "kube-apiserver");
  const broken = cps
    .map((cp) => ({ cp, names: rest.filter((n) => isBroken(stateOf(cp, n))) }))
    .filter((x) => x.names.length);
  if (broken.length) {
    return {
      phase: "k8s-controllers-start",
      ops: [
        startComponentsOp(
          "k8s-controllers",
          broken.map((x) => target(x.cp, x.names)),
        ),
      ],
      message: `starting ${broken.map((x) => `${x.names.join(" and ")} on ${x.cp.name}`).join("; ")}`,
    };
  }
  const outdated = cps
    .map((cp) => ({ cp, names: rest.filter((n) => stateOf(cp, n) === "outdated") }))
    .filter((x) => x.names.length);
  if (!outdated.length) return undefined;
  if (unreachable.length) {
    return {
      phase: "k8s-controllers-update-aborted",
      ops: [],
      message: `controller-manager/scheduler on ${outdated.map((x) => x.cp.name).join(", ")} are outdated, but ${unreachable.join(", ")} does not answer over SSH: updates go one control-plane node at a time while the others are known to run`,
    };
  }
  const next = outdated[0]!;
  return {
    phase: "k8s-controllers-update",
    ops: [startComponentsOp("k8s-controllers", [target(next.cp, next.names)])],
    message: `restarting ${next.names.join(" and ")} on ${next.cp.name} with the new configuration (one node at a time)`,
  };
}

/** Decides the control plane's next step; undefined when every control-plane component runs as desired. */
export function decideControlPlane(spec: ClusterSpec, status: ClusterStatus, o: DecideOptions): Decision | undefined {
  const k = o.desired.k8s;
  if (!k) return undefined;
  const cps: Cp[] = [];
  const unreachable: string[] = [];
  for (const n of controlPlane(spec)) {
    const s = status.nodes[n.name];
    const d = k.nodes[n.name];
    if (!d) continue;
    if (!s?.reachable) unreachable.push(n.name);
    else cps.push({ name: n.name, s, d });
  }
  if (!cps.length) {
    return {
      phase: "k8s-control-plane-aborted",
      ops: [],
      message: `no control-plane node answers over SSH (${unreachable.join(", ")})`,
    };
  }
  const files = cps
    // Certificates are written here for the whole node: a changed one restarts the kubelet and
    // kube-proxy too (later, in their rung), not only the control plane.
    .map((cp) => ({ node: cp.name, files: filesToWrite(cp.s, cp.d, CP), forget: driftedComponents(cp.s, cp.d, ALL) }))
    .filter((t) => t.files.length);
  if (files.length) {
    return {
      phase: "k8s-control-plane-files",
      ops: [k8sFilesOp("k8s-control-plane-files", files)],
      message: `writing control-plane certificates and files on ${files.map((t) => t.node).join(", ")}`,
    };
  }
  return decideApiservers(cps, unreachable) ?? decideControllers(cps, unreachable);
}
