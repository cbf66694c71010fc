/**
 * `yagura apply`: takes the environment lock for the whole run, then either resumes the apply the
 * journal says stopped (same inventory) or plans afresh (observe, gather what exists, plan; any
 * refusal stops here), records the plan and runs its steps in order, each recorded as it starts
 * and ends. A crash leaves the journal open; the next apply re-runs the step that had started.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { RefusedError } from "../cli/errors.js";
import { acquireLock } from "../run/lock.js";
import type { LoopEvent } from "../run/loop.js";
import { cancelUnfinished, recordWriter } from "../run/records.js";
import { session } from "../run/session.js";
import { gatherExisting, observeCluster, type RebuildEnv } from "./context.js";
import { formatPlan } from "./format.js";
import { journalWriter, openApply, readJournal } from "./journal.js";
import { planRebuild } from "./plan.js";
import { runStep } from "./steps.js";
import type { PlanStep, RebuildPlan } from "./types.js";

/** Options of an apply. */
export interface ApplyOptions {
  readonly scope: "etcd" | "all";
  readonly maxPasses: number;
  readonly drainTimeoutMs: number;
  readonly waitMs: number;
  /** Close an interrupted apply of another inventory and plan afresh. */
  readonly discardJournal?: boolean;
  /** Lines for people. */
  print(line: string): void;
  progress(e: LoopEvent): void;
}

/** The journal file of an environment dir. */
export function journalPath(envDir: string): string {
  return join(envDir, "rebuild-journal.jsonl");
}

/** sha256 of the inventory file: an interrupted apply resumes only for the inventory it planned. */
export function inventorySha(file: string): string {
  return createHash("sha256").update(readFileSync(file)).digest("hex");
}

/** Observes, gathers and plans (no lock, no change): what `plan` prints and `apply` starts from. */
export async function computePlan(env: RebuildEnv): Promise<RebuildPlan> {
  const existing = gatherExisting(env);
  const status = await observeCluster(env, existing);
  return planRebuild({ spec: env.spec, existing, status });
}

/** Runs an apply of `env` from the inventory `file`; throws RefusedError / OperationFailedError. */
export async function applyRebuild(env: RebuildEnv, file: string, o: ApplyOptions): Promise<void> {
  const paths = session(env.spec, env.session).paths;
  const lock = await acquireLock(paths.lock, { waitMs: o.waitMs });
  try {
    const records = recordWriter(paths.records, lock.token, () => lock.check());
    if (lock.tookOver) {
      const n = cancelUnfinished(paths.records, records, new Date());
      o.print(`took over a stale lock from pid ${lock.tookOver.pid}; ${n} unfinished op(s) marked cancelled`);
    }
    const jpath = journalPath(paths.dir);
    const journal = journalWriter(jpath, lock.token, () => lock.check());
    const sha = inventorySha(file);
    const open = openApply(readJournal(jpath));
    let applyId: string;
    let steps: readonly PlanStep[];
    let finished: ReadonlySet<string> = new Set();
    if (open && open.inventorySha !== sha && !o.discardJournal) {
      throw new RefusedError(
        `an apply of a different inventory stopped at step ${open.last?.stepId ?? "(none started)"}: ` +
          `restore that inventory and run apply to finish it, or pass --discard-journal to plan from this one`,
      );
    }
    if (open && open.inventorySha === sha) {
      ({ applyId, steps, finished } = open);
      const next = steps.find((s) => !finished.has(s.id));
      o.print(`resuming the interrupted apply ${applyId} at step ${next?.id ?? "(all done)"}`);
    } else {
      if (open) {
        journal.end(open.applyId, "abandoned");
        o.print(`discarded the interrupted apply ${open.applyId}`);
      }
      const plan = await computePlan(env);
      for (const l of formatPlan(plan)) o.print(l);
      if (plan.refusals.length) throw new RefusedError(`refused: ${plan.refusals.map((r) => r.reason).join("; ")}`);
      steps = plan.steps;
      applyId = journal.begin(sha, steps);
    }
    const existing = gatherExisting(env);
    const deps = {
      env,
      existing,
      records,
      check: () => lock.check(),
      scope: o.scope,
      maxPasses: o.maxPasses,
      drainTimeoutMs: o.drainTimeoutMs,
      progress: o.progress,
    };
    for (const s of steps) {
      if (finished.has(s.id)) continue;
      o.print(`step ${s.id}: ${s.action}${s.nodes.length ? ` ${s.nodes.join(", ")}` : ""} — ${s.why}`);
      journal.step(applyId, s.id, "started");
      try {
        const r = await runStep(s, deps);
        journal.step(applyId, s.id, r.kind, r.message);
        o.print(`${r.kind === "done" ? "✓" : "-"} step ${s.id}: ${r.message}`);
      } catch (err) {
        journal.step(applyId, s.id, "failed", (err as Error).message);
        o.print(`✗ step ${s.id}: ${(err as Error).message}`);
        throw err;
      }
    }
    journal.end(applyId, "completed");
    o.print(`apply completed: ${steps.length} step(s)`);
  } finally {
    lock.release();
  }
}
