/** A rebuild plan as lines for people: changes, refusals with their alternatives, steps, notes. */
import type { RebuildPlan } from "./types.js";

/** The plan, one fact per line. */
export function formatPlan(p: RebuildPlan): string[] {
  const out: string[] = [];
  if (p.changes.length === 0) out.push("rebuild: no node to add, remove or replace");
  else {
    out.push(`rebuild: ${p.changes.length} node change(s)`);
    for (const c of p.changes)
      out.push(`  ${c.kind.padEnd(7)} ${c.node} (${c.role}${c.managed ? ", stack" : ""}): ${c.reasons.join("; ")}`);
  }
  for (const r of p.refusals) {
    out.push(`refused: ${r.reason}`);
    out.push(`  instead: ${r.alternative}`);
  }
  if (p.steps.length) {
    out.push("steps:");
    for (const s of p.steps)
      out.push(`  ${s.id}: ${s.action}${s.nodes.length ? ` ${s.nodes.join(", ")}` : ""} — ${s.why}`);
  }
  for (const n of p.notes) out.push(`note: ${n}`);
  return out;
}
