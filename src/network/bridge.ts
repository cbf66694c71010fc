/**
 * The `bridge` pod network: no image, no daemon. On each node the standard CNI plugins put pods on
 * a local bridge with addresses from the node's pod range (the Node's spec.podCIDR, which the
 * controller manager allocates), and a static route per other node sends its pod range to that
 * node's address. Routed, not encapsulated: the nodes must share one layer-2 network (the lab,
 * one flat provider network). Pure: the conflist, the wanted routes and the diff against what a
 * node reported.
 */
import type { ClusterSpec, NodeSpec } from "../cluster/spec.js";
import { cidrContains, parseCidr, parseIPv4 } from "../cluster/net.js";
import type { KubeNode } from "../infra/kube-types.js";
import { sha256 } from "../supervisor/fingerprint.js";
import type { ManagedFile } from "../supervisor/types.js";
import { renderTemplate } from "../templates/render.js";

/** Where the bridge network's CNI config lives on a node (containerd reads /etc/cni/net.d). */
export const BRIDGE_CONFLIST = "/etc/cni/net.d/10-yagura-bridge.conflist";
/** The Linux bridge pods hang off. */
export const BRIDGE_DEVICE = "cni0";

/** A route to another node's pods. */
export interface PodRoute {
  readonly dst: string;
  readonly via: string;
}

/** What one node needs for the bridge network, and what it lacks. */
export interface PodNetworkTarget {
  readonly node: string;
  /** The conflist, when the node's differs. */
  readonly conflist?: ManagedFile & { readonly sha256: string };
  readonly add: readonly PodRoute[];
  readonly remove: readonly PodRoute[];
}

const routeKey = (r: PodRoute) => `${r.dst} via ${r.via}`;

/** True for an IPv4 CIDR such as the API's spec.podCIDR (never shell metacharacters). */
export function isPodCidr(s: string | undefined): s is string {
  return s !== undefined && parseCidr(s) !== undefined;
}

/** The node's CNI config for its pod range. */
export function bridgeConflist(podCIDR: string): ManagedFile & { readonly sha256: string } {
  const content = renderTemplate("network/bridge.conflist.hbs", { bridge: BRIDGE_DEVICE, podCIDR });
  return { path: BRIDGE_CONFLIST, content, mode: 0o644, sha256: sha256(content) };
}

/** Routes `node` needs: every other inventory node's registered pod range, via that node's address. */
export function wantedRoutes(spec: ClusterSpec, node: NodeSpec, kube: Readonly<Record<string, KubeNode>>): PodRoute[] {
  return spec.nodes
    .filter((n) => n.name !== node.name)
    .map((n) => ({ n, cidr: kube[n.name]?.podCIDR }))
    .filter((x) => isPodCidr(x.cidr))
    .map((x) => ({ dst: x.cidr!, via: x.n.address }));
}

/** Of the routes a node has, those yagura manages: inside the cluster's pod range. */
export function managedRoutes(spec: ClusterSpec, have: readonly PodRoute[]): PodRoute[] {
  const pods = parseCidr(spec.inventory.cluster.podCIDR);
  if (!pods) return [];
  return have.filter((r) => {
    const dst = parseCidr(r.dst);
    return dst !== undefined && cidrContains(pods, dst.base) && parseIPv4(r.via) !== undefined;
  });
}

/**
 * What `node` lacks, or undefined when its network is in place: the conflist for its registered
 * pod range, a route to every other registered node's range, and no stale route inside the pod range.
 */
export function podNetworkTarget(
  spec: ClusterSpec,
  node: NodeSpec,
  podCIDR: string,
  files: Readonly<Record<string, string>>,
  routes: readonly PodRoute[],
  kube: Readonly<Record<string, KubeNode>>,
): PodNetworkTarget | undefined {
  const conflist = bridgeConflist(podCIDR);
  const want = wantedRoutes(spec, node, kube);
  const have = managedRoutes(spec, routes);
  const haveKeys = new Set(have.map(routeKey));
  const wantKeys = new Set(want.map(routeKey));
  const add = want.filter((r) => !haveKeys.has(routeKey(r)));
  const remove = have.filter((r) => !wantKeys.has(routeKey(r)));
  const fileOk = files[BRIDGE_CONFLIST] === conflist.sha256;
  if (fileOk && !add.length && !remove.length) return undefined;
  return { node: node.name, ...(fileOk ? {} : { conflist }), add, remove };
}
