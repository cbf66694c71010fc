/** Fixtures of the planner tables: lab specs, observed etcd members, build records. */
import { clusterSpec, type ClusterSpec } from "../../src/cluster/spec.js";
import type { ClusterStatus, EtcdMemberStatus, NodeStatus } from "../../src/cluster/status.js";
import { inventorySchema } from "../../src/inventory/schema.js";
import type { planRebuild } from "../../src/rebuild/plan.js";
import type { ExistingNode } from "../../src/rebuild/types.js";

/** One static node of a table's inventory. */
export interface LabNode {
  name: string;
  role?: "control-plane" | "worker";
  token?: string;
  kind?: "lab" | "vm";
}
/** cpN → 10.86.0.(10+N), wN → 10.86.0.(20+N). */
export const addr = (name: string) => `10.86.0.${(name.startsWith("w") ? 20 : 10) + Number(name.replace(/\D/g, ""))}`;

/** A lab inventory: cpN control-plane nodes, wN workers. */
export function labSpec(nodes: LabNode[], o: { minReady?: number; maxConcurrent?: number } = {}): ClusterSpec {
  return clusterSpec(
    "t",
    inventorySchema.parse({
      cluster: { name: "t", kubernetesVersion: "1.33.5", minReadyWorkers: o.minReady ?? 0 },
      staticNodes: nodes.map((n) => ({
        name: n.name,
        address: addr(n.name),
        role: n.role ?? (n.name.startsWith("cp") ? "control-plane" : "worker"),
        kind: n.kind ?? "lab",
        rebuildToken: n.token ?? "",
      })),
      reconciler: { maxConcurrentUpdates: o.maxConcurrent ?? 3 },
    }),
  );
}

/** prefix1…prefixN. */
export const names = (prefix: string, n: number, from = 1) =>
  Array.from({ length: n }, (_, i) => `${prefix}${i + from}`);
/** cp1…cpN. */
export const cp = (n: number) => names("cp", n).map((name) => ({ name }));
/** w1…wN. */
export const w = (n: number) => names("w", n).map((name) => ({ name }));

/** An etcd member of a node, healthy and in sync unless told. */
export const member = (name: string, healthy = true, isLearner = false): EtcdMemberStatus => ({
  id: `id-${name}`,
  name,
  peerURLs: [`https://${addr(name)}:2380`],
  clientURLs: [`https://${addr(name)}:2379`],
  isLearner,
  healthy,
  inSync: healthy,
});
/** A node status that answered (or not). */
export const reachable = (name: string, ok = true): NodeStatus => ({
  name,
  reachable: ok,
  prerequisites: { ok: true, missing: [] },
  services: {},
  files: {},
  etcdData: { present: true, hasMember: true },
});

/** Observed: the listed members, and every spec node reachable unless listed in `down`. */
export function observed(spec: ClusterSpec, members: EtcdMemberStatus[], down: string[] = []): ClusterStatus {
  return {
    nodes: Object.fromEntries(spec.nodes.map((n) => [n.name, reachable(n.name, !down.includes(n.name))])),
    etcd: members.length ? { members, leaderId: members[0]!.id } : { members, error: "connection refused" },
  };
}

/** Lab nodes that exist and were built with these tokens. */
export const built = (nodes: LabNode[]): ExistingNode[] =>
  nodes.map((n) => ({
    name: n.name,
    address: addr(n.name),
    role: n.role ?? (n.name.startsWith("cp") ? "control-plane" : "worker"),
    managed: false,
    lab: true,
    inStack: false,
    built: { rebuildToken: n.token ?? "" },
  }));

/** The plan's steps as "action nodes". */
export const actions = (p: ReturnType<typeof planRebuild>) =>
  p.steps.map((s) => `${s.action}${s.nodes.length ? ` ${s.nodes.join("+")}` : ""}`);
