/**
 * ClusterSpec: the inventory turned into the list of nodes the cluster should have. Pool nodes are
 * named `<pool>-<index>` (1-based) and get fixed addresses from the pool's first address; static
 * nodes are taken as written. Control-plane nodes get the standard role label and taint here, so
 * every consumer (the kubelet's registration taints, the node-objects rung, `inventory show`,
 * `render`) sees the same set. The stacks and the reconciler both read this.
 */
import type { Inventory, NodeKind, NodeRole, Taint } from "../inventory/schema.js";
import { addToIPv4 } from "./net.js";

/** Key of the role label and taint of control-plane nodes (what kubeadm sets, and add-ons select on). */
export const CONTROL_PLANE_ROLE = "node-role.kubernetes.io/control-plane";

/**
 * A node's labels and taints with its role's defaults: a control-plane node is labelled
 * `node-role.kubernetes.io/control-plane: ""` and, unless `cluster.controlPlaneTaint` is false,
 * tainted `node-role.kubernetes.io/control-plane:NoSchedule`. The inventory's own label value, and
 * its own taint of that key (any effect), win over the defaults. The kubelet may not set
 * `node-role.kubernetes.io/*` labels on itself (NodeRestriction), so the label reaches the Node
 * through the API (decide/k8s-node-objects.ts); the taint also goes in at registration.
 */
export function withRoleDefaults(
  inv: Inventory,
  role: NodeRole,
  labels: Readonly<Record<string, string>>,
  taints: readonly Taint[],
): { labels: Readonly<Record<string, string>>; taints: readonly Taint[] } {
  if (role !== "control-plane") return { labels, taints };
  const own = taints.some((t) => t.key === CONTROL_PLANE_ROLE);
  return {
    labels: { [CONTROL_PLANE_ROLE]: "", ...labels },
    taints:
      inv.cluster.controlPlaneTaint && !own
        ? [{ key: CONTROL_PLANE_ROLE, value: "", effect: "NoSchedule" }, ...taints]
        : taints,
  };
}

/** One node the inventory asks for. */
export interface NodeSpec {
  readonly name: string;
  /** Pool name; static nodes report "static". */
  readonly pool: string;
  readonly role: NodeRole;
  readonly kind: NodeKind;
  readonly address: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly taints: readonly Taint[];
  /** Availability zone (VMs) or undefined. */
  readonly zone?: string;
  /** Rack (bare metal) or undefined. */
  readonly rack?: string;
  /** Effective rebuild token: the pool's token joined with the node's own. */
  readonly rebuildToken: string;
  /** True when created by the stack (an OpenStack pool), false for static nodes. */
  readonly managed: boolean;
  /** Index of the node in its pool (0-based); 0 for static nodes. */
  readonly index: number;
  /** Nova server id, from the stack's `nodes` output (pool nodes only, once deployed). */
  readonly serverId?: string;
}

/** The whole desired cluster: the inventory plus its expanded nodes. */
export interface ClusterSpec {
  readonly env: string;
  readonly inventory: Inventory;
  readonly nodes: readonly NodeSpec[];
  /** The API load balancer's address, from the stack's `api_endpoint` output (loadbalancer type only). */
  readonly apiEndpoint?: string;
}

/** Expands the inventory's pools and static nodes into NodeSpecs, in inventory order. */
export function expandNodes(inv: Inventory): NodeSpec[] {
  const out: NodeSpec[] = [];
  for (const pool of inv.nodePools) {
    for (let i = 0; i < pool.count; i++) {
      const name = `${pool.name}-${i + 1}`;
      const own = pool.rebuildTokens[name] ?? "";
      out.push({
        name,
        pool: pool.name,
        role: pool.role,
        kind: pool.kind,
        address: addToIPv4(pool.firstAddress, i),
        ...withRoleDefaults(inv, pool.role, pool.labels, pool.taints),
        zone: pool.availabilityZones.length ? pool.availabilityZones[i % pool.availabilityZones.length] : undefined,
        rack: pool.racks.length ? pool.racks[i % pool.racks.length] : undefined,
        rebuildToken: [pool.rebuildToken, own].filter((t) => t !== "").join("/"),
        managed: true,
        index: i,
      });
    }
  }
  for (const n of inv.staticNodes) {
    out.push({
      name: n.name,
      pool: "static",
      role: n.role,
      kind: n.kind,
      address: n.address,
      ...withRoleDefaults(inv, n.role, n.labels, n.taints),
      zone: n.zone,
      rack: n.rack,
      rebuildToken: n.rebuildToken,
      managed: false,
      index: 0,
    });
  }
  return out;
}

/** Builds the ClusterSpec of an environment. */
export function clusterSpec(env: string, inventory: Inventory): ClusterSpec {
  return { env, inventory, nodes: expandNodes(inventory) };
}

/** Control-plane nodes of a spec, in order. */
export function controlPlane(spec: ClusterSpec): NodeSpec[] {
  return spec.nodes.filter((n) => n.role === "control-plane");
}
