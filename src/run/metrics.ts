/**
 * Prometheus metrics of the watch mode, fed from LoopEvents (phase, ops) and from the status the
 * last pass observed (nodes, etcd members). The status is the loop's last observation: for a pass
 * that ran ops it is the view before those ops, corrected on the next pass.
 */
import { X509Certificate } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { backupDir, localSnapshotStore } from "../backup/store.js";
import { readUploadState, type UploadState } from "../backup/upload.js";
import type { ClusterSpec } from "../cluster/spec.js";
import type { ClusterStatus } from "../cluster/status.js";
import type { LoopEvent } from "./loop.js";
import type { PassOutcome } from "./watch.js";

/** The metrics of one environment. */
export interface WatchMetrics {
  readonly registry: Registry;
  onEvent(e: LoopEvent): void;
  /** A pass ended; `startedAt` gives its duration, `status` (when it observed) nodes and etcd. */
  onPass(outcome: PassOutcome, endedAt: Date, status?: ClusterStatus, startedAt?: Date): void;
  /** The schedule of the spec in use: the watch interval and the etcd snapshot schedule, in seconds. */
  setSchedule(intervalSeconds: number, snapshotScheduleSeconds: number): void;
  /** notAfter (Unix seconds) of every certificate in the PKI by file stem; replaces the previous set. */
  setCertificates(expiries: ReadonlyMap<string, number>): void;
  /** Whether this instance holds the environment (the lock, or the lead on a shared state). */
  setLeader(leading: boolean): void;
  /** Age of the newest local snapshot; undefined removes the series (no snapshot yet). */
  setBackupAge(seconds: number | undefined): void;
  /** The last snapshot upload attempt (reconciler.backup.upload); undefined when none was made. */
  setUpload(state: UploadState | undefined): void;
  /** Infrastructure drift: 1 changes, 0 none, -1 unknown (Terraform could not tell). */
  setInfraDrift(value: number): void;
}

/** Creates the registry and the yagura_* metrics for `env`. */
export function createMetrics(env: string): WatchMetrics {
  const registry = new Registry();
  const opts = <L extends string>(name: string, help: string, labelNames: L[]) => ({
    name,
    help,
    labelNames,
    registers: [registry],
  });
  const phase = new Gauge(
    opts("yagura_phase", "1 for the phase of the last decision, 0 for earlier ones", ["env", "phase"]),
  );
  const ops = new Counter(opts("yagura_ops_total", "Operations run (succeeded or failed)", ["env", "op"]));
  const opsFailed = new Counter(opts("yagura_ops_failed_total", "Operations that failed", ["env", "op"]));
  const lastSuccess = new Gauge(
    opts("yagura_last_success_timestamp_seconds", "End of the last pass that reached completed", ["env"]),
  );
  const nodes = new Gauge(
    opts("yagura_nodes", "Nodes by SSH reachability in the last observation", ["env", "condition"]),
  );
  const members = new Gauge(opts("yagura_etcd_members", "etcd members in the last observation", ["env"]));
  const healthy = new Gauge(
    opts("yagura_etcd_healthy_members", "Healthy etcd members in the last observation", ["env"]),
  );
  const backupAge = new Gauge(opts("yagura_backup_age_seconds", "Age of the newest local etcd snapshot", ["env"]));
  const uploadOk = new Gauge(
    opts("yagura_backup_upload_success", "1 if the last snapshot upload succeeded, 0 if it failed", ["env"]),
  );
  const uploadAt = new Gauge(
    opts("yagura_backup_upload_timestamp_seconds", "Time of the last successful snapshot upload", ["env"]),
  );
  const drift = new Gauge(
    opts("yagura_infra_drift", "Infrastructure drift of the last check: 1 changes, 0 none, -1 unknown", ["env"]),
  );
  const passes = new Counter(opts("yagura_passes_total", "Watch passes by outcome", ["env", "outcome"]));
  const passSeconds = new Histogram({
    ...opts("yagura_pass_duration_seconds", "Duration of watch passes", ["env"]),
    buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800],
  });
  const lastPass = new Gauge(opts("yagura_last_pass_timestamp_seconds", "End of the last pass, any outcome", ["env"]));
  const failedInARow = new Gauge(
    opts("yagura_consecutive_failed_passes", "Passes in a row that failed or threw; 0 after any other", ["env"]),
  );
  const observed = new Gauge(
    opts("yagura_node_observed", "1 if the node answered over SSH in the last observation, else 0", ["env", "node"]),
  );
  const etcdLeader = new Gauge(
    opts("yagura_etcd_has_leader", "1 if the last observation found an etcd leader, else 0", ["env"]),
  );
  const interval = new Gauge(opts("yagura_watch_interval_seconds", "Time between watch passes", ["env"]));
  const snapshotSchedule = new Gauge(
    opts("yagura_backup_schedule_seconds", "How often an etcd snapshot is due (reconciler.backup.schedule)", ["env"]),
  );
  const certExpiry = new Gauge(
    opts("yagura_certificate_expiry_timestamp_seconds", "notAfter of each certificate in the PKI", ["env", "cert"]),
  );
  const leader = new Gauge(opts("yagura_leader", "1 while this instance holds the environment, else 0", ["env"]));
  const leads = new Counter(opts("yagura_leader_acquired_total", "Times this instance took the environment", ["env"]));
  const phases = new Set<string>();
  let failures = 0;
  let leading = false;

  return {
    registry,
    onEvent(e) {
      if (e.kind === "pass") {
        for (const p of phases) phase.set({ env, phase: p }, 0);
        phases.add(e.decision.phase);
        phase.set({ env, phase: e.decision.phase }, 1);
      } else if (e.kind === "op-done") ops.inc({ env, op: e.op });
      else if (e.kind === "op-failed") {
        ops.inc({ env, op: e.op });
        opsFailed.inc({ env, op: e.op });
      }
    },
    onPass(outcome, endedAt, status, startedAt) {
      passes.inc({ env, outcome });
      lastPass.set({ env }, endedAt.getTime() / 1000);
      if (startedAt) passSeconds.observe({ env }, (endedAt.getTime() - startedAt.getTime()) / 1000);
      failures = outcome === "failed" || outcome === "error" ? failures + 1 : outcome === "stopped" ? failures : 0;
      failedInARow.set({ env }, failures);
      if (outcome === "completed") lastSuccess.set({ env }, endedAt.getTime() / 1000);
      if (!status) return;
      const all = Object.values(status.nodes);
      observed.reset();
      for (const n of all) observed.set({ env, node: n.name }, n.reachable ? 1 : 0);
      etcdLeader.set({ env }, status.etcd.leaderId !== undefined ? 1 : 0);
      const up = all.filter((n) => n.reachable).length;
      nodes.set({ env, condition: "reachable" }, up);
      nodes.set({ env, condition: "unreachable" }, all.length - up);
      members.set({ env }, status.etcd.members.length);
      healthy.set({ env }, status.etcd.members.filter((m) => m.healthy).length);
    },
    setBackupAge(seconds) {
      if (seconds === undefined) backupAge.remove({ env });
      else backupAge.set({ env }, seconds);
    },
    setUpload(state) {
      if (!state) return;
      uploadOk.set({ env }, state.ok ? 1 : 0);
      if (state.ok) uploadAt.set({ env }, Date.parse(state.at) / 1000);
    },
    setInfraDrift(value) {
      drift.set({ env }, value);
    },
    setSchedule(intervalSeconds, snapshotScheduleSeconds) {
      interval.set({ env }, intervalSeconds);
      snapshotSchedule.set({ env }, snapshotScheduleSeconds);
    },
    setCertificates(expiries) {
      certExpiry.reset();
      for (const [cert, at] of expiries) certExpiry.set({ env, cert }, at);
    },
    setLeader(now) {
      if (now && !leading) leads.inc({ env });
      leading = now;
      leader.set({ env }, now ? 1 : 0);
    },
  };
}

/** Serves /metrics from `registry` and /healthz from `healthy()` on host:port; resolves once listening. */
export async function serveMetrics(addr: string, registry: Registry, healthy: () => boolean): Promise<Server> {
  const { host, port } = parseAddr(addr);
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/metrics") {
      registry.metrics().then(
        (body) => res.writeHead(200, { "content-type": registry.contentType }).end(body),
        (err: Error) => res.writeHead(500).end(err.message),
      );
    } else if (path === "/healthz") {
      const ok = healthy();
      res.writeHead(ok ? 200 : 503, { "content-type": "text/plain" }).end(ok ? "ok\n" : "stale\n");
    } else res.writeHead(404).end("not found\n");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}

/** `127.0.0.1:9464` or `[::1]:9464` → host and port; throws on anything else. */
export function parseAddr(addr: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:]+\]|[^:]+):(\d{1,5})$/.exec(addr);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new Error(`--metrics-addr must be HOST:PORT such as 127.0.0.1:9464, not ${addr}`);
  return { host: m[1]!.replace(/^\[|\]$/g, ""), port };
}

/** Healthy while the watch runs and its last pass ended within three intervals of `now`. */
export function isHealthy(alive: boolean, lastPassEndedAt: number, intervalMs: number, now: number): boolean {
  return alive && now - lastPassEndedAt <= 3 * intervalMs;
}

/** Seconds since the newest local snapshot with a sidecar was taken; undefined when there is none. */
export async function backupAgeSeconds(
  spec: ClusterSpec,
  now: number,
  stateRoot?: string,
): Promise<number | undefined> {
  const list = await localSnapshotStore(backupDir(spec, stateRoot), spec.env)
    .list()
    .catch(() => []);
  const takenAt = list.find((e) => e.meta)?.meta?.takenAt;
  return takenAt ? (now - Date.parse(takenAt)) / 1000 : undefined;
}

/** The last snapshot upload attempt recorded in the environment's backup directory. */
export function lastUpload(spec: ClusterSpec, stateRoot?: string): UploadState | undefined {
  return readUploadState(backupDir(spec, stateRoot));
}

// Parsing is what costs (about a millisecond a certificate): a certificate's notAfter is kept by its
// text, which changes only when it is reissued. Only the last call's certificates are kept.
let parsed = new Map<string, number>();

/** notAfter (Unix seconds) of each `<stem>.crt` in the PKI directory `dir`; unreadable files are skipped. */
export async function certificateExpiries(dir: string): Promise<Map<string, number>> {
  const names = (await readdir(dir).catch(() => [])).filter((f) => f.endsWith(".crt")).sort();
  const out = new Map<string, number>();
  const seen = new Map<string, number>();
  for (const f of names) {
    try {
      const pem = await readFile(join(dir, f), "utf8");
      const at = parsed.get(pem) ?? Date.parse(new X509Certificate(pem).validTo) / 1000;
      seen.set(pem, at);
      out.set(f.slice(0, -".crt".length), at);
    } catch {
      // A half-written or foreign file is not a certificate yagura issued; the next pass reads it again.
    }
  }
  parsed = seen;
  return out;
}

/** Lends the PKI as `withPki` does and, after `fn` (which issues and renews), reports every certificate's expiry. */
export function reportingCertificates(
  withPki: <T>(fn: (dir: string) => Promise<T>) => Promise<T>,
  metrics: Pick<WatchMetrics, "setCertificates">,
): <T>(fn: (dir: string) => Promise<T>) => Promise<T> {
  return (fn) =>
    withPki(async (dir) => {
      const r = await fn(dir);
      metrics.setCertificates(await certificateExpiries(dir));
      return r;
    });
}
