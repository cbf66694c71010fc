/**
 * Which nodes an inventory edit adds, removes or replaces, from the inventory, what exists and the
 * observed cluster. A control-plane node belongs to the cluster when an etcd member is its; a
 * worker when the Kubernetes API has its Node or an earlier apply recorded it. Pure.
 */
import type { ClusterSpec, NodeSpec } from "../cluster/spec.js";
import type { ClusterStatus, EtcdMemberStatus } from "../cluster/status.js";
import type { NodeRole } from "../inventory/schema.js";
import type { BuiltWith, ExistingNode, NodeChange } from "./types.js";

/** The etcd member of a node (by name, or by its peer URL before the member first started). */
export function memberOf(
  members: readonly EtcdMemberStatus[],
  n: { name: string; address: string },
): EtcdMemberStatus | undefined {
  const url = `https://${n.address}:2380`;
  return members.find((m) => m.name === n.name || m.peerURLs.includes(url));
}

/** The host of a member's first peer URL. */
export function memberHost(m: EtcdMemberStatus): string {
  const u = m.peerURLs[0];
  if (!u) return "";
  try {
    return new URL(u).hostname;
  } catch {
    return "";
  }
}

/** What the inventory says a node is built with. */
export function wantedBuild(spec: ClusterSpec, n: NodeSpec): BuiltWith {
  const pool = spec.inventory.nodePools.find((p) => p.name === n.pool);
  return n.managed && pool
    ? { rebuildToken: n.rebuildToken, image: pool.image, flavor: pool.flavor }
    : { rebuildToken: n.rebuildToken };
}

/** Why a node must be rebuilt (empty when it need not be). Unknown build facts never trigger one. */
export function replaceReasons(want: BuiltWith, built: BuiltWith | undefined): string[] {
  if (!built) return [];
  const out: string[] = [];
  if (want.rebuildToken !== built.rebuildToken)
    out.push(`rebuild token ${JSON.stringify(built.rebuildToken)} → ${JSON.stringify(want.rebuildToken)}`);
  for (const k of ["image", "flavor"] as const) {
    if (built[k] !== undefined && want[k] !== undefined && want[k] !== built[k])
      out.push(`${k} ${built[k]} → ${want[k]}`);
  }
  return out;
}

/** A node that is going away: where it is and how to reach it. */
export interface Leaving {
  readonly name: string;
  readonly address: string;
  readonly role: NodeRole;
  readonly managed: boolean;
  readonly lab: boolean;
}

/** Adds, replaces and removes (in inventory order, removes last), with the leaving nodes' addresses. */
export function nodeChanges(
  spec: ClusterSpec,
  existing: readonly ExistingNode[],
  status: ClusterStatus,
): { changes: NodeChange[]; leaving: Leaving[]; unrecorded: string[] } {
  const members = status.etcd.members;
  // etcd did not answer: a recorded control-plane node is taken as a member (safety then refuses changes to it).
  const blind = members.length === 0 && status.etcd.error !== undefined;
  const byName = new Map(existing.map((e) => [e.name, e]));
  const changes: NodeChange[] = [];
  const unrecorded: string[] = [];
  for (const n of spec.nodes) {
    const e = byName.get(n.name);
    const inCluster =
      n.role === "control-plane"
        ? memberOf(members, n) !== undefined || (blind && e?.built !== undefined)
        : e?.built !== undefined || status.kube?.nodes[n.name] !== undefined;
    const base = { node: n.name, role: n.role, managed: n.managed };
    if (!inCluster) {
      changes.push({ kind: "add", ...base, reasons: ["in the inventory, not in the cluster"] });
      continue;
    }
    if (!e?.built) unrecorded.push(n.name);
    const reasons = replaceReasons(wantedBuild(spec, n), e?.built);
    if (reasons.length) changes.push({ kind: "replace", ...base, reasons });
  }

  const wanted = new Set(spec.nodes.map((n) => n.name));
  const claimed = new Set(
    spec.nodes
      .filter((n) => n.role === "control-plane")
      .map((n) => memberOf(members, n)?.id)
      .filter((x) => x !== undefined),
  );
  const leaving: Leaving[] = [];
  for (const m of members) {
    if (claimed.has(m.id)) continue;
    const host = memberHost(m);
    const e = existing.find((x) => x.name === m.name || (host !== "" && x.address === host));
    const name = m.name || e?.name || host || m.id;
    leaving.push({
      name,
      address: e?.address ?? host,
      role: "control-plane",
      managed: e?.managed ?? false,
      lab: e?.lab ?? false,
    });
  }
  for (const e of existing) {
    if (wanted.has(e.name) || leaving.some((l) => l.name === e.name)) continue;
    leaving.push({ name: e.name, address: e.address, role: e.role ?? "worker", managed: e.managed, lab: e.lab });
  }
  // Member ids are random: order by name, so a plan reads (and resumes) the same way every time.
  leaving.sort((a, b) => a.name.localeCompare(b.name, "en", { numeric: true }));
  for (const l of leaving)
    changes.push({ kind: "remove", node: l.name, role: l.role, managed: l.managed, reasons: ["not in the inventory"] });
  return { changes, leaving, unrecorded };
}
