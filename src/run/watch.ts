/**
 * Watch mode: run a reconcile every interval (±10% jitter, so many environments on one host do not
 * pass in lockstep), at once when the inventory changes, and sooner-then-slower after failures
 * (exponential backoff capped at the interval). Clock, sleep and randomness are injected so the
 * schedule is testable without waiting. The first SIGTERM/SIGINT stops at the next op boundary;
 * a second one exits at once.
 */
import { unwatchFile, watchFile } from "node:fs";
import { constants } from "node:os";
import { setTimeout as sleepAbortable } from "node:timers/promises";
import type { ClusterSpec } from "../cluster/spec.js";
import type { ClusterStatus } from "../cluster/status.js";
import type { EnvLock } from "./lock.js";
import { reconcileLoop, type LoopDeps, type LoopEvent } from "./loop.js";
import { durationMs } from "./material.js";
import {
  backupAgeSeconds,
  createMetrics,
  isHealthy,
  lastUpload,
  reportingCertificates,
  serveMetrics,
} from "./metrics.js";
import { envPaths } from "../cluster/paths.js";
import type { OpRecord, RecordWriter } from "./records.js";
import { session, sshKeeper } from "./session.js";
import { HOST_KEY_MISMATCH } from "../observe/index.js";
import { watchDriftOf, type DriftFlags } from "../drift/watch.js";

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

/** What `reconcile --watch` passes to watchEnvironment. */
export interface WatchFlags<S> {
  readonly intervalMs?: number;
  readonly metricsAddr?: string;
  readonly scope: "etcd" | "all";
  readonly maxPasses: number;
  /** Infrastructure drift checks on their own interval (environments with a stack). */
  readonly drift?: DriftFlags;
  reload(): Reload<S>;
  progress(e: LoopEvent): void;
  /** Lends the PKI directory to a pass (a state backend's). @default the local PKI directory */
  readonly withPki?: Held["withPki"];
  /**
   * Stands by until the lock is held again after it was lost (a shared state backend); rejects
   * once `signal` aborts. Without it a lost lock ends the watch.
   */
  regain?(signal: AbortSignal): Promise<Held>;
}

/** A held lock with what is written under it. */
export type Held = EnvLock & {
  readonly records: RecordWriter;
  readonly withPki?: <T>(fn: (dir: string) => Promise<T>) => Promise<T>;
};

/**
 * `reconcile --watch`: one lock for the whole watch (lock.ts renews its lease in the background),
 * one reconcileLoop per pass, the inventory file polled for changes, signals wired to the watch.
 */
export async function watchEnvironment<S extends ClusterSpec & { file: string }>(
  first: S,
  lock: EnvLock,
  records: RecordWriter,
  o: WatchFlags<S>,
): Promise<void> {
  const metrics = createMetrics(first.env);
  // The SSH connections last from pass to pass; a pass that finds nothing to do is one command per node.
  const ssh = sshKeeper();
  const intervalMs = (sp: S) => o.intervalMs ?? durationMs(sp.inventory.reconciler?.watchInterval ?? "5m");
  let status: ClusterStatus | undefined;
  let current: ReturnType<typeof stoppable> | undefined;
  let withPki = o.withPki;
  const stopping = new AbortController();
  let lost: Error | undefined;
  let alive = true;
  // Health follows the interval of the spec in use, which an inventory edit may change.
  let intervalNow = intervalMs(first);
  metrics.setLeader(true);
  // Listen before the first pass, so a taken port fails the command before anything runs.
  const server = o.metricsAddr
    ? await serveMetrics(o.metricsAddr, metrics.registry, () =>
        isHealthy(alive, w.lastPassEndedAt(), intervalNow, Date.now()),
      )
    : undefined;
  const w = startWatch<S>({
    initial: first,
    reload: o.reload,
    intervalMs,
    async runPass(sp, shouldStop) {
      try {
        lock.check();
      } catch (err) {
        if (!o.regain) {
          lost = err as Error;
          w.signal("lost-lock");
          return { outcome: "stopped", message: lost.message };
        }
        // A shared backend: stop acting, stand by with the other instances, go on once elected.
        console.log(`lost the lead: ${(err as Error).message}; standing by to lead again`);
        metrics.setLeader(false);
        try {
          const h = await o.regain(stopping.signal);
          [lock, records, withPki] = [h, h.records, h.withPki];
          metrics.setLeader(true);
        } catch (e) {
          if (stopping.signal.aborted) return { outcome: "stopped", message: "stopped while standing by" };
          throw e;
        }
      }
      intervalNow = intervalMs(sp);
      metrics.setSchedule(intervalNow / 1000, durationMs(sp.inventory.reconciler?.backup?.schedule ?? "15m") / 1000);
      const lend = withPki ?? (<T>(fn: (dir: string) => Promise<T>) => fn(envPaths(sp.env).pkiDir));
      const io = session(sp, {
        inventoryFile: sp.file,
        scope: o.scope,
        withPki: reportingCertificates(lend, metrics),
        ssh,
      });
      const before = ssh.counts();
      const progress = (e: LoopEvent) => (o.progress(e), metrics.onEvent(e));
      current = stoppable(
        { spec: sp, prepare: io.prepare, open: io.open, records, now: () => new Date(), sleep, progress },
        shouldStop,
      );
      try {
        const r = await reconcileLoop(current.deps, { scope: o.scope, maxPasses: o.maxPasses });
        status = r.status;
        warnUnobserved(r.status);
        const after = ssh.counts();
        const detail = `${after.commands - before.commands} SSH commands, ${after.connects - before.connects} connects`;
        return { outcome: r.outcome, message: `${r.phase}: ${r.message}`, detail };
      } catch (err) {
        if (err instanceof StopRequested) return { outcome: "stopped", message: err.message };
        throw err;
      } finally {
        current = undefined;
      }
    },
    afterPass(p) {
      metrics.onPass(p.outcome, new Date(p.endedAt), status, new Date(p.startedAt));
      metrics.setUpload(lastUpload(first));
      void backupAgeSeconds(first, Date.now()).then(metrics.setBackupAge);
      status = undefined;
    },
    now: Date.now,
    sleep: (ms, signal) => sleepAbortable(ms, undefined, { signal }),
    random: Math.random,
    log: (l) => console.log(l),
    exitNow(sig) {
      const h = current?.inHand();
      const error = `${sig} twice: yagura exited during this op without waiting for it`;
      if (h) h.records.update(h.rec, { status: "cancelled", endedAt: new Date().toISOString(), error });
      lock.release();
      process.exit(128 + (constants.signals[sig as NodeJS.Signals] ?? 15));
    },
  });
  const backupTimer = setInterval(() => void backupAgeSeconds(first, Date.now()).then(metrics.setBackupAge), 60_000);
  void backupAgeSeconds(first, Date.now()).then(metrics.setBackupAge);
  const onSignal = (sig: NodeJS.Signals) => (w.signal(sig), stopping.abort());
  process.on("SIGTERM", onSignal).on("SIGINT", onSignal);
  const drift = watchDriftOf(first, o.drift, metrics.setInfraDrift, (l) => console.log(l));
  watchFile(first.file, { interval: 1000 }, (cur, prev) => {
    if (cur.mtimeMs !== prev.mtimeMs) w.inventoryChanged();
  });
  try {
    const r = await w.done;
    console.log(`watch stopped by ${r.stoppedBy} after ${r.passes} pass(es); the op in hand was finished`);
  } finally {
    alive = false;
    await ssh.close();
    unwatchFile(first.file);
    process.off("SIGTERM", onSignal).off("SIGINT", onSignal);
    clearInterval(backupTimer);
    await drift?.stop();
    await new Promise((res) => (server ? server.close(res) : res(undefined)));
  }
  if (lost) throw lost;
}

const sleep = (ms: number) => new Promise<void>((res) => setTimeout(res, ms));

/**
 * Names, after each pass, the nodes it could not observe. A node that presented a host key yagura
 * neither issued nor pinned is refused, not merely down: nothing is done on it, pass after pass,
 * until its key is what yagura pins.
 */
function warnUnobserved(status: ClusterStatus | undefined): void {
  for (const n of Object.values(status?.nodes ?? {})) {
    if (n.reachable) continue;
    if (n.error?.startsWith(HOST_KEY_MISMATCH))
      console.log(
        `refused: ${n.name} presented a host key yagura neither issued nor pinned; nothing is done on it: ${n.error}`,
      );
    else console.log(`warning: ${n.name} was not observed: ${n.error ?? "unreachable"}`);
  }
}
