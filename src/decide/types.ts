/** Inputs and output of decide(). */
import type { Desired } from "../ops/etcd/desired.js";
import type { Op } from "../ops/types.js";

/** What decide() needs besides the spec and the status. */
export interface DecideOptions {
  /** The current time (decide reads no clock). */
  readonly now: Date;
  /** Desired files, certificates and fingerprints, prepared before the pass. */
  readonly desired: Desired;
  /**
   * How far up the ladder to go: "etcd" stops after etcd (the rungs this version implements);
   * "all" reports the Kubernetes rungs as not built yet.
   * @default "all"
   */
  readonly scope?: "etcd" | "all";
}

/** The next step: a phase and the ops to run (none when waiting, done, or refusing). */
export interface Decision {
  readonly phase: string;
  readonly ops: readonly Op[];
  /** Why this phase, for people (which node is unreachable, what to install …). */
  readonly message: string;
  /**
   * Nothing may run now only because the cluster is settling: a member catching up with the
   * leader, or one briefly unhealthy after a change. The loop observes again soon instead of
   * stopping.
   */
  readonly settling?: boolean;
}

/** Phases that end a reconcile without progress: stop and tell the operator. */
export function isStuck(d: Decision): boolean {
  return d.ops.length === 0 && d.phase !== "completed";
}
