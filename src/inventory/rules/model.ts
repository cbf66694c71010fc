/**
 * The nodes an inventory asks for, computed defensively for the rules: the same names and addresses
 * as cluster/spec.ts `expandNodes`, but tolerant of invalid addresses and absurd pool sizes, which
 * the rules report instead of tripping over.
 */
import type { Inventory } from "../schema.js";
import { formatIPv4, parseIPv4 } from "../../cluster/net.js";

/** Largest pool yagura expands; beyond it a count is surely a typo (and would stall validation). */
export const MAX_POOL_NODES = 1000;

/** One planned node and where it comes from in the document. */
export interface PlannedNode {
  readonly name: string;
  readonly role: "control-plane" | "worker";
  /** Dotted quad, or undefined when the pool's firstAddress (or the static address) is invalid. */
  readonly address: string | undefined;
  /** Document path that defines the node: the pool's name or the static node's name. */
  readonly path: (string | number)[];
  /** Pool index, or undefined for a static node. */
  readonly pool: number | undefined;
}

/** Pool nodes (`<pool>-<n>`, n from 1, address firstAddress+n-1) then static nodes, in order. */
export function plannedNodes(inv: Inventory): PlannedNode[] {
  const out: PlannedNode[] = [];
  inv.nodePools.forEach((p, pi) => {
    const first = parseIPv4(p.firstAddress);
    const count = Math.min(p.count, MAX_POOL_NODES);
    for (let i = 0; i < count; i++) {
      const n = first === undefined ? undefined : first + i;
      out.push({
        name: `${p.name}-${i + 1}`,
        role: p.role,
        address: n === undefined || n > 0xffffffff ? undefined : formatIPv4(n),
        path: ["nodePools", pi, "name"],
        pool: pi,
      });
    }
  });
  inv.staticNodes.forEach((s, si) => {
    out.push({
      name: s.name,
      role: s.role,
      address: parseIPv4(s.address) === undefined ? undefined : s.address,
      path: ["staticNodes", si, "name"],
      pool: undefined,
    });
  });
  return out;
}

/** Number of control-plane nodes (pools plus static nodes). */
export function controlPlaneCount(inv: Inventory): number {
  let n = inv.staticNodes.filter((s) => s.role === "control-plane").length;
  for (const p of inv.nodePools) if (p.role === "control-plane") n += p.count;
  return n;
}
