/**
 * Conditions of the Kubernetes side for `yagura status`: the API (ready, default ServiceAccount),
 * Node registration and readiness across the cluster, and per node whether it is registered,
 * Ready, and still held by the boot taint. Pure functions over KubeStatus.
 */
import type { ClusterSpec } from "../cluster/spec.js";
import type { Condition, KubeStatus, NodeStatus } from "../cluster/status.js";

/** Cluster-wide and per-node Kubernetes conditions. */
export interface KubeConditions {
  readonly cluster: Condition[];
  readonly nodes: Readonly<Record<string, Condition[]>>;
}

const c = (type: string, ok: boolean, reason: string, message: string): Condition => ({
  type,
  status: ok ? "True" : "False",
  reason,
  message,
});

/** The conditions of an observed API for `spec`; `bootTaint` is the boot taint's key. */
export function kubeConditions(spec: ClusterSpec, kube: KubeStatus, bootTaint: string): KubeConditions {
  if (!kube.ready) {
    const why = kube.error ?? "no answer";
    return {
      cluster: [c("KubeAPIReady", false, "NotReady", why)],
      nodes: Object.fromEntries(
        spec.nodes.map((n) => [
          n.name,
          [{ type: "Registered", status: "Unknown", reason: "APINotReady", message: why }],
        ]),
      ),
    };
  }
  const names = spec.nodes.map((n) => n.name);
  const missing = names.filter((n) => !kube.nodes[n]);
  const extra = Object.keys(kube.nodes).filter((n) => !names.includes(n));
  const notReady = names.filter((n) => kube.nodes[n] && kube.nodes[n]!.conditions["Ready"] !== "True");
  const registered = names.length - missing.length;
  const cluster = [
    c("KubeAPIReady", true, "Ready", "/readyz answered ok"),
    kube.defaultServiceAccount
      ? c(
          "DefaultServiceAccount",
          true,
          "Present",
          "ServiceAccount default/default exists (the controller manager works)",
        )
      : c("DefaultServiceAccount", false, "Missing", "ServiceAccount default/default does not exist yet"),
    c(
      "NodesRegistered",
      missing.length === 0 && extra.length === 0,
      missing.length ? "Unregistered" : extra.length ? "NotInInventory" : "AllRegistered",
      `${registered}/${names.length} registered` +
        (missing.length ? `; missing: ${missing.join(", ")}` : "") +
        (extra.length ? `; not in the inventory: ${extra.join(", ")}` : ""),
    ),
    c(
      "NodesReady",
      notReady.length === 0 && missing.length === 0,
      notReady.length ? "NotReady" : missing.length ? "Unregistered" : "AllReady",
      `${registered - notReady.length}/${names.length} Ready` +
        (notReady.length ? `; not Ready: ${notReady.join(", ")}` : ""),
    ),
  ];
  const nodes: Record<string, Condition[]> = {};
  for (const name of names) {
    const n = kube.nodes[name];
    if (!n) {
      nodes[name] = [c("Registered", false, "Unregistered", "no Node object: the kubelet has not registered")];
      continue;
    }
    const ready = n.conditions["Ready"] ?? "Unknown";
    const boot = n.taints.some((t) => t.key === bootTaint);
    nodes[name] = [
      c("Registered", true, "Registered", `Node ${name} exists${n.unschedulable ? " (cordoned)" : ""}`),
      ready === "True"
        ? c("NodeReady", true, "Ready", "the kubelet reports Ready")
        : {
            type: "NodeReady",
            status: ready === "False" ? "False" : "Unknown",
            reason: "NotReady",
            message: `the kubelet reports Ready=${ready}`,
          },
      boot
        ? c("BootTaintLifted", false, "Present", `${bootTaint} keeps workloads off until the node's network is ready`)
        : c("BootTaintLifted", true, "Lifted", "the boot taint is gone"),
    ];
  }
  return { cluster, nodes };
}

/**
 * KubeProxyMode of one node: the mode kube-proxy reports (/proxyMode) against the inventory's.
 * kube-proxy falls back to iptables when the node lacks what ipvs needs and says so only in its
 * log; nothing a restart would mend, so this is reported, not repaired. None when not observed.
 */
export function proxyModeConditions(node: NodeStatus, want: string): Condition[] {
  if (!node.proxyMode) return [];
  if (node.proxyMode === want) return [c("KubeProxyMode", true, "AsConfigured", `kube-proxy runs in ${want} mode`)];
  const needs = want === "ipvs" ? " (the ip_vs kernel modules and ipset)" : "";
  return [
    c(
      "KubeProxyMode",
      false,
      "Mismatch",
      `kube-proxy runs in ${node.proxyMode} mode but cluster.kubeProxyMode is ${want}: it falls back when the node ` +
        `lacks what ${want} needs${needs}; see its log, or set cluster.kubeProxyMode: ${node.proxyMode}`,
    ),
  ];
}
