/**
 * The rebuild planner: inventory + what exists + the observed cluster → changes, ordered steps and
 * refusals. Pure (no IO, no clock). The order keeps etcd's quorum and the Ready workers:
 *   1. adds: the stack creates the new servers, then reconcile bootstraps them (control-plane nodes
 *      join etcd as learners, one per pass, and are promoted);
 *   2. control-plane replaces, one node at a time: drain, leave etcd, replace the server (stack) or
 *      reimage it (lab), reconcile (it rejoins as a learner and is promoted), uncordon;
 *   3. worker replaces in batches of at most maxConcurrentUpdates, within minReadyWorkers;
 *   4. removes: control-plane nodes one at a time (drain, leave etcd), workers drained in batches,
 *      then the stack without them (or the lab nodes released);
 *   5. a final reconcile, then the build of every node is recorded.
 */
import type { ClusterSpec } from "../cluster/spec.js";
import type { ClusterStatus } from "../cluster/status.js";
import { nodeChanges } from "./changes.js";
import { controlPlaneRefusals, unbuildable, workerRefusals } from "./safety.js";
import type { ExistingNode, NodeChange, PlanStep, RebuildPlan, StepAction } from "./types.js";

/** What the planner reads. */
export interface PlanInput {
  readonly spec: ClusterSpec;
  /** Servers and machines that exist now (stack outputs, lab, earlier applies). */
  readonly existing: readonly ExistingNode[];
  readonly status: ClusterStatus;
}

/** Splits `xs` into batches of at most `n`. */
function batches<T>(xs: readonly T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}

/** Plans the rebuild; see the module comment for the order. */
export function planRebuild(input: PlanInput): RebuildPlan {
  const { spec, existing, status } = input;
  const { changes, leaving, unrecorded } = nodeChanges(spec, existing, status);
  const workers = workerRefusals(spec, status, changes);
  const refusals = [
    ...controlPlaneRefusals(spec, status, changes, leaving),
    ...workers.refusals,
    ...unbuildable(spec, changes),
  ];
  const notes: string[] = [workers.note];
  if (unrecorded.length)
    notes.push(`no record of how ${unrecorded.join(", ")} were built: taken as built from this inventory`);
  const inStack = new Set(existing.filter((e) => e.inStack).map((e) => e.name));
  const labNodes = new Set([
    ...spec.nodes.filter((n) => n.kind === "lab").map((n) => n.name),
    ...leaving.filter((l) => l.lab).map((l) => l.name),
  ]);
  if (refusals.length) return { changes, steps: [], refusals, notes };

  const steps: PlanStep[] = [];
  const step = (action: StepAction, nodes: readonly string[], why: string) =>
    steps.push({ id: `${steps.length + 1}-${action}${nodes.length ? `-${nodes.join("+")}` : ""}`, action, nodes, why });
  const of = (kind: NodeChange["kind"], role: NodeChange["role"]) =>
    changes.filter((c) => c.kind === kind && c.role === role).map((c) => c.node);

  // 1. adds
  const adds = changes.filter((c) => c.kind === "add");
  const toCreate = adds.filter((c) => c.managed && !inStack.has(c.node)).map((c) => c.node);
  if (toCreate.length) step("stack-deploy", toCreate, "create the new servers");
  if (adds.length)
    step(
      "reconcile",
      adds.map((c) => c.node),
      "bootstrap the new nodes (control plane: learner, then voter)",
    );

  // 2 and 3. replaces: control plane one at a time, workers in batches.
  const replace = (nodes: string[], cp: boolean) => {
    step("drain", nodes, "cordon and evict (PodDisruptionBudgets respected)");
    if (cp) step("etcd-leave", nodes, "remove the etcd member while the others keep quorum");
    const viaStack = nodes.filter((n) => !labNodes.has(n));
    const viaLab = nodes.filter((n) => labNodes.has(n));
    if (viaStack.length) step("stack-replace", viaStack, "replace the server; its port and address are kept");
    if (viaLab.length) step("reimage", viaLab, "stop yagura's services and wipe its directories");
    step("reconcile", nodes, cp ? "bootstrap again and rejoin etcd as a learner" : "bootstrap again");
    step("uncordon", nodes, "schedulable again");
  };
  for (const n of of("replace", "control-plane")) replace([n], true);
  for (const b of batches(of("replace", "worker"), workers.batch)) replace(b, false);

  // 4. removes
  for (const n of of("remove", "control-plane")) {
    step("drain", [n], "cordon and evict before the node goes");
    step("etcd-leave", [n], "remove the etcd member while the others keep quorum");
  }
  for (const b of batches(of("remove", "worker"), workers.batch))
    step("drain", b, "cordon and evict before the nodes go");
  const removed = leaving.map((l) => l.name);
  const destroy = removed.filter((n) => !labNodes.has(n) && leaving.find((l) => l.name === n)?.managed);
  const release = removed.filter((n) => labNodes.has(n));
  if (destroy.length) step("stack-deploy", destroy, "the stack without the removed servers");
  if (release.length)
    step("release", release, "stop yagura's services and wipe its directories on the removed lab nodes");

  // 5. converge and record
  // A reconcile followed only by uncordons already converged the ladder.
  const tail = steps.slice(steps.findLastIndex((s) => s.action === "reconcile") + 1);
  if (!steps.some((s) => s.action === "reconcile") || tail.some((s) => s.action !== "uncordon"))
    step("reconcile", [], "the whole ladder until completed");
  step("record-built", [], "remember how every node is built, for the next plan");
  return { changes, steps, refusals: [], notes };
}
