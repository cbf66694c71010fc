/**
 * `yagura apply`: holds the environment through its state backend for the whole run (the local
 * lock file, or the lead in a shared etcd, so an apply and a reconciler on another machine never
 * act at once), then either resumes the apply the journal says stopped (same inventory) or plans
 * afresh (observe, gather what exists, plan; any refusal stops here), records the plan and runs its
 * steps in order, each journaled as it starts and ends. The PKI, op records, journal and build
 * record all go through the holder. A crash leaves the journal open; the next apply re-runs the
 * step that had started.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { RefusedError } from "../cli/errors.js";
import type { LoopEvent } from "../run/loop.js";
import type { StateBackend, StateHolder } from "../state/types.js";
import { gatherExisting, observeCluster, type RebuildEnv } from "./context.js";
import { BUILT_DOC, parseBuilt } from "./existing.js";
import { formatPlan } from "./format.js";
import { journalWriter, openApply, type JournalWriter } from "./journal.js";
import { planRebuild } from "./plan.js";
import { runStep } from "./steps.js";
import type { PlanStep, RebuildPlan } from "./types.js";

export { journalPath } from "./journal.js";

/** Options of an apply. */
export interface ApplyOptions {
  readonly scope: "etcd" | "all";
  readonly maxPasses: number;
  readonly drainTimeoutMs: number;
  /** How long to wait for another holder of the environment. */
  readonly waitMs: number;
  /** Close an interrupted apply of another inventory and plan afresh. */
  readonly discardJournal?: boolean;
  /** Lines for people. */
  print(line: string): void;
  progress(e: LoopEvent): void;
}

/** sha256 of the inventory file: an interrupted apply resumes only for the inventory it planned. */
export function inventorySha(file: string): string {
  return createHash("sha256").update(readFileSync(file)).digest("hex");
}

/**
 * Observes, gathers and plans (no lock, no change): what `plan` prints and `apply` starts from. The
 * PKI comes from `env.session.withPki` (a backend's read-only copy for plan, the holder's for apply).
 */
export async function computePlan(env: RebuildEnv): Promise<RebuildPlan> {
  const existing = gatherExisting(env);
  const status = await observeCluster(env, existing);
  return planRebuild({ spec: env.spec, existing, status });
}

/** The apply to run: the interrupted one resumed, or a fresh plan begun in the journal. */
async function resumeOrPlan(
  env: RebuildEnv,
  holder: StateHolder,
  journal: JournalWriter,
  sha: string,
  o: ApplyOptions,
): Promise<{ applyId: string; steps: readonly PlanStep[]; finished: ReadonlySet<string> }> {
  const open = openApply(await holder.journal.read());
  if (open && open.inventorySha !== sha && !o.discardJournal) {
    throw new RefusedError(
      `an apply of a different inventory stopped at step ${open.last?.stepId ?? "(none started)"}: ` +
        `restore that inventory and run apply to finish it, or pass --discard-journal to plan from this one`,
    );
  }
  if (open && open.inventorySha === sha) {
    const next = open.steps.find((s) => !open.finished.has(s.id));
    o.print(`resuming the interrupted apply ${open.applyId} at step ${next?.id ?? "(all done)"}`);
    return open;
  }
  if (open) {
    await journal.end(open.applyId, "abandoned");
    o.print(`discarded the interrupted apply ${open.applyId}`);
  }
  const plan = await computePlan(env);
  for (const l of formatPlan(plan)) o.print(l);
  if (plan.refusals.length) throw new RefusedError(`refused: ${plan.refusals.map((r) => r.reason).join("; ")}`);
  return { applyId: await journal.begin(sha, plan.steps), steps: plan.steps, finished: new Set() };
}

/**
 * Runs an apply of `env` from the inventory `file` under `backend` (which the caller closes); throws
 * RefusedError (also when another instance holds the environment) / OperationFailedError.
 */
export async function applyRebuild(
  env: RebuildEnv,
  file: string,
  backend: StateBackend,
  o: ApplyOptions,
): Promise<void> {
  const holder = await backend.acquire({ waitMs: o.waitMs, log: o.print });
  try {
    if (holder.takeover) o.print(holder.takeover);
    else if (backend.describe !== "local") o.print(`leading ${backend.describe} with token ${holder.token}`);
    // Every preparation of the run (plan, each step's pass, the stack step) borrows the holder's PKI;
    // the build record, too, comes from the holder's store and goes back there (record-built step).
    const held: RebuildEnv = {
      ...env,
      session: { ...env.session, withPki: holder.withPki },
      built: parseBuilt(await holder.documents.read(BUILT_DOC)),
    };
    const journal = journalWriter(holder.journal, holder.token);
    const { applyId, steps, finished } = await resumeOrPlan(held, holder, journal, inventorySha(file), o);
    const deps = {
      env: held,
      existing: gatherExisting(held),
      records: holder.records,
      check: () => holder.check(),
      scope: o.scope,
      maxPasses: o.maxPasses,
      drainTimeoutMs: o.drainTimeoutMs,
      progress: o.progress,
      recordBuilt: (text: string) => holder.documents.write(BUILT_DOC, text),
    };
    for (const s of steps) {
      if (finished.has(s.id)) continue;
      o.print(`step ${s.id}: ${s.action}${s.nodes.length ? ` ${s.nodes.join(", ")}` : ""} — ${s.why}`);
      await journal.step(applyId, s.id, "started");
      try {
        const r = await runStep(s, deps);
        await holder.records.fence?.();
        await journal.step(applyId, s.id, r.kind, r.message);
        o.print(`${r.kind === "done" ? "✓" : "-"} step ${s.id}: ${r.message}`);
      } catch (err) {
        await journal.step(applyId, s.id, "failed", (err as Error).message).catch(() => undefined);
        o.print(`✗ step ${s.id}: ${(err as Error).message}`);
        throw err;
      }
    }
    await journal.end(applyId, "completed");
    o.print(`apply completed: ${steps.length} step(s)`);
  } finally {
    await holder.close();
  }
}
