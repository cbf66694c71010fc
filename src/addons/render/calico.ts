/**
 * Calico through the Tigera operator: the Installation (BGP on, IP pools, node address detection),
 * the default BGPConfiguration (no node-to-node mesh when route reflectors are used, the AS
 * number), one BGPPeer from every node to the reflectors, and the reflector nodes themselves.
 */
import type { ClusterSpec, NodeSpec } from "../../cluster/spec.js";
import type { KubeObject } from "../../infra/kube-types.js";

/** Label that marks a route reflector; the BGPPeer selects reflectors by it. */
export const ROUTE_REFLECTOR_LABEL = "route-reflector";
/** Node annotation Calico (Kubernetes datastore) reads a reflector's cluster ID from. */
export const RR_CLUSTER_ID_ANNOTATION = "projectcalico.org/RouteReflectorClusterID";
/** The DaemonSet the operator creates: its pod on a node is that node's CNI. */
export const CALICO_NODE = { namespace: "calico-system", name: "calico-node" } as const;

/**
 * The route reflectors: the inventory's `nodes`, else `count` nodes picked from the control plane
 * (then workers), round-robin across racks or zones so one failure domain never holds them all.
 */
export function chooseRouteReflectors(spec: ClusterSpec): NodeSpec[] {
  const rr = spec.inventory.networking.calico.routeReflectors;
  if (!rr.enabled) return [];
  if (rr.nodes.length > 0) return rr.nodes.map((n) => spec.nodes.find((x) => x.name === n)).filter((n) => !!n);
  const candidates = [
    ...spec.nodes.filter((n) => n.role === "control-plane"),
    ...spec.nodes.filter((n) => n.role !== "control-plane"),
  ];
  const domains = new Map<string, NodeSpec[]>();
  for (const n of candidates) {
    const d = n.rack ?? n.zone ?? "";
    domains.set(d, [...(domains.get(d) ?? []), n]);
  }
  const queues = [...domains.values()];
  const out: NodeSpec[] = [];
  for (let round = 0; out.length < rr.count && queues.some((q) => q.length > round); round++) {
    for (const q of queues) if (q[round] && out.length < rr.count) out.push(q[round]!);
  }
  return out;
}

/** The operator's Installation `default`. */
export function installation(spec: ClusterSpec): KubeObject {
  const c = spec.inventory.networking.calico;
  const pools =
    c.ipPools.length > 0
      ? c.ipPools.map((p) => ({
          name: p.name,
          cidr: p.cidr,
          blockSize: p.blockSize ?? c.blockSize,
          encapsulation: p.encapsulation ?? c.encapsulation,
          natOutgoing: p.natOutgoing ? "Enabled" : "Disabled",
          nodeSelector: "all()",
        }))
      : [
          {
            name: "default-ipv4-ippool",
            cidr: spec.inventory.cluster.podCIDR,
            blockSize: c.blockSize,
            encapsulation: c.encapsulation,
            natOutgoing: "Enabled",
            nodeSelector: "all()",
          },
        ];
  return {
    apiVersion: "operator.tigera.io/v1",
    kind: "Installation",
    metadata: { name: "default" },
    spec: {
      cni: { type: "Calico", ipam: { type: "Calico" } },
      calicoNetwork: {
        bgp: "Enabled",
        ipPools: pools,
        // The address kubelet (and the cloud controller manager) report is the one BGP peers on.
        nodeAddressAutodetectionV4: { kubernetes: "NodeInternalIP" },
      },
    },
  };
}

/** BGPConfiguration `default`: the AS number, and the full mesh off when reflectors carry the routes. */
export function bgpConfiguration(spec: ClusterSpec): KubeObject {
  const c = spec.inventory.networking.calico;
  return {
    apiVersion: "crd.projectcalico.org/v1",
    kind: "BGPConfiguration",
    metadata: { name: "default" },
    spec: {
      asNumber: c.asNumber,
      nodeToNodeMeshEnabled: !c.routeReflectors.enabled,
      logSeverityScreen: "Info",
    },
  };
}

/** Every node peers with every reflector (reflectors with each other too); none without reflectors. */
export function bgpPeers(spec: ClusterSpec): KubeObject[] {
  if (!spec.inventory.networking.calico.routeReflectors.enabled) return [];
  return [
    {
      apiVersion: "crd.projectcalico.org/v1",
      kind: "BGPPeer",
      metadata: { name: "peer-with-route-reflectors" },
      spec: { nodeSelector: "all()", peerSelector: `${ROUTE_REFLECTOR_LABEL} == 'true'` },
    },
  ];
}

/**
 * The reflector label and cluster ID on each reflector's Node, as a partial Node that server-side
 * apply merges (yagura owns only these fields; the kubelet keeps the rest). Applied only to
 * registered Nodes, never created, never pruned.
 */
export function routeReflectorNodes(spec: ClusterSpec): KubeObject[] {
  const clusterId = spec.inventory.networking.calico.routeReflectors.clusterId;
  return chooseRouteReflectors(spec).map((n) => ({
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name: n.name,
      labels: { [ROUTE_REFLECTOR_LABEL]: "true" },
      annotations: { [RR_CLUSTER_ID_ANNOTATION]: clusterId },
    },
  }));
}

/** Every Calico object yagura renders. */
export function calicoObjects(spec: ClusterSpec): KubeObject[] {
  return [installation(spec), bgpConfiguration(spec), ...bgpPeers(spec), ...routeReflectorNodes(spec)];
}
