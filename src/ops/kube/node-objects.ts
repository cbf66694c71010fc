/**
 * Node labels and taints from the inventory, without touching what others set.
 *
 * Labels: a server-side apply of a partial Node (labels only) with field manager `yagura`. The API
 * server then removes a label yagura applied earlier and no longer sends, and never one only
 * someone else set. The keys yagura applied are also kept in the `yagura.io/labels` annotation,
 * so decide (which cannot see managedFields) knows when a removal is due.
 *
 * Taints are one atomic list, so SSA cannot share it: read-modify-write guarded by resourceVersion
 * that keeps every taint yagura did not set, replaces yagura's own (remembered as `key:effect` in
 * the `yagura.io/taints` annotation) and never touches the boot taint, which its own rung owns.
 */
import type { Taint } from "../../inventory/schema.js";
import { KubeApiError, type KubeNode, type KubeObject } from "../../infra/kube-types.js";
import { toKubeNode } from "../../infra/kube-views.js";
import { command, sequenceOp, type Op } from "../types.js";
import { kubeOf } from "./steps.js";

/** Annotation: JSON list of the label keys yagura applied. */
export const OWN_LABELS = "yagura.io/labels";
/** Annotation: JSON list of the `key:effect` of the taints yagura set. */
export const OWN_TAINTS = "yagura.io/taints";

/** Read-modify-write rounds of a node's taints before a conflict fails the op. */
export const TAINT_WRITE_ATTEMPTS = 5;

/** What the inventory wants on one Node. */
export interface NodeObjectsWant {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly taints: readonly Taint[];
}

const taintId = (t: Taint) => `${t.key}:${t.effect}`;
const taintFull = (t: Taint) => `${t.key}=${t.value ?? ""}:${t.effect}`;

/** A JSON string list from an annotation; anything else reads as none (so nothing is removed on its say-so). */
function ownList(annotations: Readonly<Record<string, string>>, key: string): string[] {
  try {
    const v = JSON.parse(annotations[key] ?? "[]") as unknown;
    return Array.isArray(v) && v.every((x) => typeof x === "string") ? v : [];
  } catch {
    return [];
  }
}

/** The taints a node should carry: others' kept, yagura's old ones dropped, the wanted ones set. */
export function plannedTaints(node: KubeNode, want: readonly Taint[], bootTaint: string): Taint[] {
  const mine = want.filter((t) => t.key !== bootTaint);
  const wantIds = new Set(mine.map(taintId));
  const drop = new Set(ownList(node.annotations, OWN_TAINTS).filter((id) => !wantIds.has(id)));
  // A taint is unique by key and effect: one the inventory names is replaced whoever set it.
  const kept = node.taints.filter((t) => t.key === bootTaint || (!drop.has(taintId(t)) && !wantIds.has(taintId(t))));
  return [...kept, ...mine];
}

/** The annotation values that record what yagura set. */
function ownAnnotations(want: NodeObjectsWant, bootTaint: string): Record<string, string> {
  return {
    [OWN_LABELS]: JSON.stringify(Object.keys(want.labels).sort()),
    [OWN_TAINTS]: JSON.stringify(
      want.taints
        .filter((t) => t.key !== bootTaint)
        .map(taintId)
        .sort(),
    ),
  };
}

const sameTaints = (a: readonly Taint[], b: readonly Taint[]) => {
  const x = a.map(taintFull).sort();
  const y = b.map(taintFull).sort();
  return x.length === y.length && x.every((v, i) => v === y[i]);
};

/** What is out of date on a node: its labels (or their record), its taints, or nothing. */
export function nodeObjectsDrift(node: KubeNode, want: NodeObjectsWant, bootTaint: string): string[] {
  const out: string[] = [];
  const own = ownAnnotations(want, bootTaint);
  const wrong = Object.entries(want.labels).filter(([k, v]) => node.labels[k] !== v);
  const gone = ownList(node.annotations, OWN_LABELS).filter((k) => !(k in want.labels) && k in node.labels);
  if (wrong.length) out.push(`labels ${wrong.map(([k]) => k).join(", ")}`);
  if (gone.length) out.push(`labels to remove ${gone.join(", ")}`);
  if (!sameTaints(node.taints, plannedTaints(node, want.taints, bootTaint))) out.push("taints");
  if (
    !out.length &&
    (node.annotations[OWN_LABELS] !== own[OWN_LABELS] || node.annotations[OWN_TAINTS] !== own[OWN_TAINTS])
  ) {
    out.push("yagura's record of its labels and taints");
  }
  return out;
}

/** kube-node-labels-taints: for each node, the taints (guarded) then the labels and records (SSA). */
export function kubeNodeObjectsOp(wants: readonly NodeObjectsWant[], bootTaint: string): Op {
  return sequenceOp(
    "kube-node-labels-taints",
    wants.map((w) => w.name),
    wants.map((want) =>
      command("set-labels-taints", want.name, async (ctx) => {
        const kube = kubeOf(ctx, "set-labels-taints");
        for (let attempt = 1; ; attempt++) {
          const obj = await kube.get({ apiVersion: "v1", kind: "Node", name: want.name });
          if (!obj) return; // deregistered since observe: the next pass decides again
          // Plan from the Node as it is now, not as observe saw it; the resourceVersion makes the write fail
          // (409) rather than drop a taint someone adds between this read and the write.
          const node = toKubeNode(obj);
          const taints = plannedTaints(node, want.taints, bootTaint);
          if (sameTaints(node.taints, taints)) break;
          try {
            await kube.setNodeTaints(want.name, taints, node.resourceVersion);
            break;
          } catch (err) {
            // The node controller and kubelet write Nodes often while a node starts: read again and
            // re-plan a few times (client-go's RetryOnConflict) before leaving it to the next pass.
            if (!(err instanceof KubeApiError && err.status === 409) || attempt >= TAINT_WRITE_ATTEMPTS) throw err;
          }
        }
        const partial: KubeObject = {
          apiVersion: "v1",
          kind: "Node",
          metadata: { name: want.name, labels: { ...want.labels }, annotations: ownAnnotations(want, bootTaint) },
        };
        // force: the inventory is the authority for the labels it names, even when another writer set them first.
        await kube.apply(partial, { force: true });
      }),
    ),
  );
}
