/**
 * Watch mode: run a reconcile every interval (±10% jitter, so many environments on one host do not
 * pass in lockstep), at once when the inventory changes, and sooner-then-slower after failures
 * (exponential backoff capped at the interval). Clock, sleep and randomness are injected so the
 * schedule is testable without waiting. The first SIGTERM/SIGINT stops at the next op boundary;
 * a second one exits at once. watch-env.ts wires this watch to an environment.
 */
import type { LoopDeps } from "./loop.js";
import type { OpRecord, RecordWriter } from "./records.js";

/** How one pass ended, as the watch sees it ("error": it threw; "stopped": a signal cut it short). */
export type PassOutcome = "completed" | "stuck" | "failed" | "error" | "stopped";

/** One pass's summary, for logs and metrics. */
export interface PassSummary {
  readonly outcome: PassOutcome;
  readonly message: string;
  readonly startedAt: number;
  readonly endedAt: number;
}

/** A reload of the inventory: the new spec, or every problem with it. */
export type Reload<S> = { ok: true; spec: S } | { ok: false; problems: readonly string[] };

/** What the watch is wired to. */
export interface WatchDeps<S> {
  readonly initial: S;
  reload(): Reload<S>;
  intervalMs(spec: S): number;
  /** Runs one reconcile; `shouldStop` turns true once a stop was asked for. */
  runPass(spec: S, shouldStop: () => boolean): Promise<{ outcome: PassOutcome; message: string; detail?: string }>;
  now(): number;
  /** Resolves after `ms`, or early (resolve or reject) when `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  random(): number;
  log(line: string): void;
  afterPass?(p: PassSummary): void;
  /** Called on the second signal: leave now, without waiting for the op in hand. */
  exitNow(signal: string): void;
}

/** Tuning of the schedule. */
export interface WatchOptions {
  /** First backoff after a failure; doubles per failure up to the interval. @default 5000 */
  readonly backoffBaseMs?: number;
  /** Relative jitter of the interval. @default 0.1 */
  readonly jitter?: number;
}

/** A running watch. */
export interface Watch {
  /** Resolves once the watch stopped cleanly. */
  readonly done: Promise<{ passes: number; stoppedBy: string }>;
  /** The inventory file changed: reload it and pass at once. */
  inventoryChanged(): void;
  /** A stop signal arrived (SIGTERM, SIGINT). */
  signal(name: string): void;
  /** When the last pass ended (or the watch started, before the first one ended). */
  lastPassEndedAt(): number;
}

/** The interval scaled by a uniform factor in [1 - jitter, 1 + jitter]. */
export function jitteredDelay(intervalMs: number, random: () => number, jitter = 0.1): number {
  return Math.round(intervalMs * (1 - jitter + 2 * jitter * random()));
}

/** Delay after `failures` failed passes in a row: base, 2·base, 4·base … capped at `capMs`. */
export function backoffDelay(failures: number, baseMs: number, capMs: number): number {
  return Math.min(capMs, baseMs * 2 ** Math.max(0, failures - 1));
}

/** Starts the watch; see the module comment. */
export function startWatch<S>(deps: WatchDeps<S>, o: WatchOptions = {}): Watch {
  const baseMs = o.backoffBaseMs ?? 5000;
  let spec = deps.initial;
  let stopBy = "";
  let reloadAsked = false;
  let lastEnd = deps.now();
  let wake: AbortController | undefined;

  const interrupt = () => wake?.abort();

  const reload = () => {
    reloadAsked = false;
    const r = deps.reload();
    if (r.ok) {
      spec = r.spec;
      deps.log("inventory changed: reloaded, passing now");
    } else {
      deps.log(`inventory changed but is invalid; keeping the previous spec:\n  ${r.problems.join("\n  ")}`);
    }
  };

  const run = async () => {
    let passes = 0;
    let failures = 0;
    while (!stopBy) {
      if (reloadAsked) reload();
      const startedAt = deps.now();
      let res: { outcome: PassOutcome; message: string; detail?: string };
      try {
        res = await deps.runPass(spec, () => stopBy !== "");
      } catch (err) {
        res = { outcome: "error", message: (err as Error).message };
      }
      passes++;
      lastEnd = deps.now();
      deps.afterPass?.({ ...res, startedAt, endedAt: lastEnd });
      const took = `${lastEnd - startedAt} ms${res.detail ? `, ${res.detail}` : ""}`;
      deps.log(`watch pass ${passes}: ${res.outcome} in ${took} — ${res.message}`);
      if (stopBy) break;
      // "stuck" is a state decide refuses to touch; retrying it sooner would not help, so only
      // failures back off.
      failures = res.outcome === "failed" || res.outcome === "error" ? failures + 1 : 0;
      const interval = deps.intervalMs(spec);
      const delay =
        failures > 0 ? backoffDelay(failures, baseMs, interval) : jitteredDelay(interval, deps.random, o.jitter);
      if (reloadAsked) continue;
      wake = new AbortController();
      await deps.sleep(delay, wake.signal).catch(() => undefined);
      wake = undefined;
    }
    return { passes, stoppedBy: stopBy };
  };

  return {
    done: run(),
    inventoryChanged() {
      reloadAsked = true;
      interrupt();
    },
    signal(name) {
      if (stopBy) {
        deps.log(`${name} again: exiting now, without waiting for the op in hand`);
        deps.exitNow(name);
        return;
      }
      stopBy = name;
      deps.log(`${name}: stopping after the op in hand (send it again to exit at once)`);
      interrupt();
    },
    lastPassEndedAt: () => lastEnd,
  };
}

/** Thrown inside a pass to leave it at an op boundary once a stop was asked for. */
export class StopRequested extends Error {
  override readonly name = "StopRequested";
}

/**
 * Wraps loop deps so the pass ends at the next op boundary once `shouldStop()` is true (the loop
 * calls prepare before each pass and records.start before each op), and remembers the op in hand
 * so an immediate exit can mark it cancelled.
 */
export function stoppable(
  deps: LoopDeps,
  shouldStop: () => boolean,
): { deps: LoopDeps; inHand(): { rec: OpRecord; records: RecordWriter } | undefined } {
  let open: OpRecord | undefined;
  const records: RecordWriter = {
    start(op, targets, phase) {
      if (shouldStop()) throw new StopRequested(`stopped before ${op}: a stop signal arrived`);
      open = deps.records.start(op, targets, phase);
      return open;
    },
    update(rec, patch) {
      const r = deps.records.update(rec, patch);
      if (open?.id === rec.id && r.status !== "running") open = undefined;
      return r;
    },
    ...(deps.records.fence ? { fence: () => deps.records.fence!() } : {}),
  };
  const prepare: LoopDeps["prepare"] = (now) => {
    if (shouldStop()) throw new StopRequested("stopped between passes: a stop signal arrived");
    return deps.prepare(now);
  };
  return {
    deps: { ...deps, records, prepare },
    inHand: () => (open ? { rec: open, records: deps.records } : undefined),
  };
}
