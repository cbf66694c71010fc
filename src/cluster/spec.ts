/**
 * ClusterSpec: the inventory turned into the list of nodes the cluster should have. Pool nodes are
 * named `<pool>-<index>` (1-based) and get fixed addresses from the pool's first address; static
 * nodes are taken as written. The stacks and the reconciler both read this.
 */
import type { Inventory, NodeKind, NodeRole, Taint } from "../inventory/schema.js";
import { addToIPv4 } from "./net.js";

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
        labels: pool.labels,
        taints: pool.taints,
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
      labels: n.labels,
      taints: n.taints,
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
