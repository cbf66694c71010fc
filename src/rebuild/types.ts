/**
 * The data of an inventory-driven rebuild: what exists, what the inventory asks for, and the plan
 * between them (changes, ordered steps, refusals). Plain data, so the plan can be printed, stored
 * in the journal and resumed by another process.
 */
import type { NodeRole } from "../inventory/schema.js";

/** How a server or machine was built: what a later inventory edit is compared with. */
export interface BuiltWith {
  readonly rebuildToken: string;
  /** Image and flavor (stack nodes only; absent when the stack output predates them). */
  readonly image?: string;
  readonly flavor?: string;
}

/** A node that exists now (created by the stack, by the lab, or recorded by an earlier apply). */
export interface ExistingNode {
  readonly name: string;
  readonly address: string;
  /** Known from the stack or an earlier apply; removals of unknown role are judged by etcd membership. */
  readonly role?: NodeRole;
  /** Created by the stack (an OpenStack pool). */
  readonly managed: boolean;
  /** Lab namespace (reimaged by wiping yagura's directories). */
  readonly lab: boolean;
  /** Absent when nothing says how it was built (it is then not replaced; the next apply records it). */
  readonly built?: BuiltWith;
  /** The stack output says so: the server exists. */
  readonly inStack: boolean;
}

/** One node-level change the inventory asks for. */
export interface NodeChange {
  readonly kind: "add" | "remove" | "replace";
  readonly node: string;
  readonly role: NodeRole;
  readonly managed: boolean;
  /** Why (a replace: which of token, image, flavor changed). */
  readonly reasons: readonly string[];
}

/** What a step does; each is safe to run again after a crash. */
export type StepAction =
  | "stack-deploy"
  | "stack-replace"
  | "drain"
  | "etcd-leave"
  | "reimage"
  | "release"
  | "reconcile"
  | "uncordon"
  | "record-built";

/** One step of the plan; `id` is stable so the journal can say which steps are done. */
export interface PlanStep {
  readonly id: string;
  readonly action: StepAction;
  readonly nodes: readonly string[];
  /** One line for people. */
  readonly why: string;
}

/** A change the planner will not make, and what to do instead. */
export interface Refusal {
  readonly reason: string;
  readonly alternative: string;
}

/** The planner's answer. Steps are empty when anything is refused. */
export interface RebuildPlan {
  readonly changes: readonly NodeChange[];
  readonly steps: readonly PlanStep[];
  readonly refusals: readonly Refusal[];
  /** Facts worth printing (how readiness was judged, nodes with no build record …). */
  readonly notes: readonly string[];
}
