/**
 * Op records: one JSON line when an op starts and one when it ends, both under the op's id, in
 * envPaths(env).records. Every append checks the fencing token first, so a reconciler that lost
 * the lock cannot write history. Records never hold file contents or keys, only names.
 */
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { randomUUID } from "node:crypto";

/** One line of the records file. */
export interface OpRecord {
  readonly id: string;
  readonly op: string;
  readonly targets: readonly string[];
  /** The command running or last run (`name@target`). */
  readonly command?: string;
  readonly status: "running" | "succeeded" | "failed" | "cancelled";
  readonly error?: string;
  readonly startedAt: string;
  readonly endedAt?: string;
  readonly token: number;
  readonly phase?: string;
  /** The instance that wrote it (`host:pid`), where several instances share the records. */
  readonly holder?: string;
}

/** Appends records, fenced by `check`. */
export interface RecordWriter {
  start(op: string, targets: readonly string[], phase: string): OpRecord;
  update(rec: OpRecord, patch: Partial<OpRecord>): OpRecord;
  /**
   * Resolves once every record written so far is stored under the fence, or rejects (the lock was
   * lost). Writers whose appends are synchronous have none; the loop awaits it before an op acts.
   */
  fence?(): Promise<void>;
}

/** A writer on `path`; `check` throws when this process no longer holds the lock. */
export function recordWriter(
  path: string,
  token: number,
  check: () => void,
  now: () => Date = () => new Date(),
): RecordWriter {
  const append = (r: OpRecord) => {
    check();
    appendFileSync(path, JSON.stringify(r) + "\n", { mode: 0o600 });
  };
  return {
    start(op, targets, phase) {
      const r: OpRecord = {
        id: randomUUID(),
        op,
        targets,
        status: "running",
        startedAt: now().toISOString(),
        token,
        phase,
      };
      append(r);
      return r;
    },
    update(rec, patch) {
      const r = { ...rec, ...patch, token };
      append(r);
      return r;
    },
  };
}

/** Reads the records, merged by id (the last line of an id wins), oldest first. */
export function readRecords(path: string): OpRecord[] {
  if (!existsSync(path)) return [];
  const byId = new Map<string, OpRecord>();
  for (const line of readFileSync(path, "utf8").split("\n")) {
    if (!line.trim()) continue;
    try {
      const r = JSON.parse(line) as OpRecord;
      byId.set(r.id, { ...byId.get(r.id), ...r });
    } catch {
      /* a torn last line after a crash: skip it */
    }
  }
  return [...byId.values()];
}

/** Marks ops left `running` by a holder that died as cancelled; returns how many. */
export function cancelUnfinished(path: string, w: RecordWriter, now: Date): number {
  const open = readRecords(path).filter((r) => r.status === "running");
  for (const r of open)
    w.update(r, {
      status: "cancelled",
      endedAt: now.toISOString(),
      error: "the reconciler holding the lock stopped during this op",
    });
  return open.length;
}
