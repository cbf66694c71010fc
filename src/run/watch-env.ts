/**
 * `reconcile --watch` for one environment: the watch of watch.ts wired to the world — the lock held
 * for the whole watch, one reconcile loop per pass on SSH connections kept from pass to pass, the
 * inventory file polled for changes, metrics served, drift checked, signals wired to the watch.
 */
import { unwatchFile, watchFile } from "node:fs";
import { constants } from "node:os";
import { setTimeout as sleepAbortable } from "node:timers/promises";
import type { ClusterSpec } from "../cluster/spec.js";
import type { ClusterStatus } from "../cluster/status.js";
import type { EnvLock } from "./lock.js";
import { reconcileLoop, type LoopEvent } from "./loop.js";
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
import type { RecordWriter } from "./records.js";
import { session, sshKeeper } from "./session.js";
import { HOST_KEY_MISMATCH } from "../observe/index.js";
import { watchDriftOf, type DriftFlags } from "../drift/watch.js";
import { startWatch, stoppable, StopRequested, type Reload } from "./watch.js";

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
