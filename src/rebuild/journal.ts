/**
 * The step journal of `yagura apply`: one entry when an apply starts (its plan, the inventory's
 * hash), one per step state change, one when it ends. The entries live where the environment's lock
 * lives (a JournalStore of the state backend: the local jsonl file, or fenced keys in the state
 * etcd), and like the op records every append is fenced, so an apply that lost the lock cannot
 * write. An apply that stopped (crash, SIGKILL) leaves a plan without an end: the next apply of the
 * same inventory, on this machine or another, resumes it at the first step not done, re-running a
 * step that had started (every step is safe to run again).
 */
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
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

/** Where the journal's entries are kept; each state backend has one, and only its holder appends. */
export interface JournalStore {
  /** Every entry, oldest first (a torn one after a crash is skipped). */
  read(): Promise<JournalLine[]>;
  /** Appends one entry; throws (writing nothing) when this holder no longer holds the environment. */
  append(line: JournalLine): Promise<void>;
}

/** The journal file of an environment dir (the local backend's store). */
export function journalPath(envDir: string): string {
  return join(envDir, "rebuild-journal.jsonl");
}

/** Reads a journal file's lines (a torn last line after a crash is skipped). */
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

/** The local store: the jsonl file at `path` (0600); `check` throws when the lock is lost. */
export function fileJournal(path: string, check: () => void): JournalStore {
  return {
    read: async () => readJournal(path),
    async append(l) {
      check();
      appendFileSync(path, JSON.stringify(l) + "\n", { mode: 0o600 });
    },
  };
}

/** Appends an apply's entries to a store, stamped with the holder's token. */
export interface JournalWriter {
  /** Records a new apply; resolves to its id. */
  begin(inventorySha: string, steps: readonly PlanStep[]): Promise<string>;
  step(applyId: string, stepId: string, status: StepStatus, message?: string): Promise<void>;
  end(applyId: string, outcome: "completed" | "abandoned"): Promise<void>;
}

/** A writer on `store` for the holder of fencing token `token`. */
export function journalWriter(store: JournalStore, token: number, now: () => Date = () => new Date()): JournalWriter {
  const at = () => now().toISOString();
  return {
    async begin(inventorySha, steps) {
      const applyId = randomUUID();
      await store.append({ type: "plan", applyId, inventorySha, steps, at: at(), token });
      return applyId;
    },
    step: (applyId, stepId, status, message) =>
      store.append({ type: "step", applyId, stepId, status, ...(message ? { message } : {}), at: at(), token }),
    end: (applyId, outcome) => store.append({ type: "end", applyId, outcome, at: at(), token }),
  };
}
