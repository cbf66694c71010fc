/**
 * The step journal of `yagura apply`: one JSON line when an apply starts (its plan, the inventory's
 * hash), one per step state change, one when it ends. Like the op records, every append checks the
 * fencing token first, so an apply that lost the lock cannot write. An apply that stopped (crash,
 * SIGKILL) leaves a plan without an end: the next apply of the same inventory resumes it at the
 * first step not done, re-running a step that had started (every step is safe to run again).
 */
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { randomUUID } from "node:crypto";
import type { PlanStep } from "./types.js";

/** A step's state in the journal. */
export type StepStatus = "started" | "done" | "skipped" | "failed";

/** One line of the journal. */
export type JournalLine =
  | {
      readonly type: "plan";
      readonly applyId: string;
      readonly inventorySha: string;
      readonly steps: readonly PlanStep[];
      readonly at: string;
      readonly token: number;
    }
  | {
      readonly type: "step";
      readonly applyId: string;
      readonly stepId: string;
      readonly status: StepStatus;
      readonly message?: string;
      readonly at: string;
      readonly token: number;
    }
  | {
      readonly type: "end";
      readonly applyId: string;
      readonly outcome: "completed" | "abandoned";
      readonly at: string;
      readonly token: number;
    };

/** An apply that started and has not ended. */
export interface OpenApply {
  readonly applyId: string;
  readonly inventorySha: string;
  readonly steps: readonly PlanStep[];
  /** Steps done or skipped (they are not run again). */
  readonly finished: ReadonlySet<string>;
  /** The last step that started, with its last state. */
  readonly last?: { readonly stepId: string; readonly status: StepStatus; readonly message?: string };
}

/** Reads the journal's lines (a torn last line after a crash is skipped). */
export function readJournal(path: string): JournalLine[] {
  if (!existsSync(path)) return [];
  const out: JournalLine[] = [];
  for (const line of readFileSync(path, "utf8").split("\n")) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as JournalLine);
    } catch {
      /* torn line */
    }
  }
  return out;
}

/** The newest apply without an end, or undefined. */
export function openApply(lines: readonly JournalLine[]): OpenApply | undefined {
  const plan = lines.findLast((l) => l.type === "plan");
  if (!plan || plan.type !== "plan") return undefined;
  const mine = lines.filter((l) => l.applyId === plan.applyId);
  if (mine.some((l) => l.type === "end")) return undefined;
  const finished = new Set<string>();
  let last: OpenApply["last"];
  for (const l of mine) {
    if (l.type !== "step") continue;
    if (l.status === "done" || l.status === "skipped") finished.add(l.stepId);
    last = { stepId: l.stepId, status: l.status, ...(l.message ? { message: l.message } : {}) };
  }
  return {
    applyId: plan.applyId,
    inventorySha: plan.inventorySha,
    steps: plan.steps,
    finished,
    ...(last ? { last } : {}),
  };
}

/** Appends to the journal, fenced by `check`. */
export interface JournalWriter {
  /** Records a new apply; returns its id. */
  begin(inventorySha: string, steps: readonly PlanStep[]): string;
  step(applyId: string, stepId: string, status: StepStatus, message?: string): void;
  end(applyId: string, outcome: "completed" | "abandoned"): void;
}

/** A writer on `path`; `check` throws when this process no longer holds the environment lock. */
export function journalWriter(
  path: string,
  token: number,
  check: () => void,
  now: () => Date = () => new Date(),
): JournalWriter {
  const append = (l: JournalLine) => {
    check();
    appendFileSync(path, JSON.stringify(l) + "\n", { mode: 0o600 });
  };
  const at = () => now().toISOString();
  return {
    begin(inventorySha, steps) {
      const applyId = randomUUID();
      append({ type: "plan", applyId, inventorySha, steps, at: at(), token });
      return applyId;
    },
    step(applyId, stepId, status, message) {
      append({ type: "step", applyId, stepId, status, ...(message ? { message } : {}), at: at(), token });
    },
    end(applyId, outcome) {
      append({ type: "end", applyId, outcome, at: at(), token });
    },
  };
}
