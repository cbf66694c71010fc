/**
 * The reconcile loop: observe → decide → run → observe … One pass runs the ops decide returned,
 * each command in turn, with a record per op; the first failure ends the pass and the next pass
 * re-observes. It stops on `completed`, on a phase that cannot progress (no ops; when nodes did
 * not answer, or the cluster is settling, only after observing again a few times), after the same
 * op failed `maxFailures` passes in a row, or after `maxPasses`.
 */
import type { ClusterSpec } from "../cluster/spec.js";
import type { ClusterStatus } from "../cluster/status.js";
import { decide } from "../decide/index.js";
import type { Decision } from "../decide/types.js";
import type { KubeApi } from "../infra/kube-types.js";
import type { EtcdAdmin, NodeShell } from "../infra/types.js";
import { parseDuration } from "../inventory/rules/syntax.js";
import { UNREACHABLE_WAIT_DEFAULT } from "../inventory/schema-reconciler.js";
import { HOST_KEY_MISMATCH, observe } from "../observe/index.js";
import type { OpContext } from "../ops/types.js";
import type { Material } from "./material.js";
import type { RecordWriter } from "./records.js";

/** A connection set for one pass. */
export interface PassIO {
  readonly shell: NodeShell;
  etcdAdmin(endpoints: readonly string[]): EtcdAdmin;
  /** The Kubernetes API, when the material names an endpoint. */
  readonly kube?: KubeApi;
  /** Ends the pass but keeps what the next pass reuses (the SSH connections); close() follows the last. */
  release?(): Promise<void>;
  close(): Promise<void>;
}

/** What the loop is wired to. */
export interface LoopDeps {
  readonly spec: ClusterSpec;
  prepare(now: Date): Promise<Material>;
  open(material: Material): PassIO;
  readonly records: RecordWriter;
  now(): Date;
  sleep(ms: number): Promise<void>;
  /** Progress for people: one call per event. */
  progress(e: LoopEvent): void;
}

/** Progress events. */
export type LoopEvent =
  | { kind: "pass"; pass: number; decision: Decision }
  | { kind: "op-start"; op: string; targets: readonly string[] }
  | { kind: "op-done"; op: string; ms: number }
  | { kind: "op-failed"; op: string; command: string; error: string }
  | { kind: "unreachable-retry"; nodes: readonly string[]; ms: number }
  | { kind: "settle-retry"; message: string; ms: number };

/**
 * A pass that cannot progress because nodes did not answer is observed again, after 5, 10, 20, 40 s
 * and so on, within `reconciler.unreachableWait` in all (75 s by default), before the loop gives up:
 * a node that is slow to answer (sshd on an overloaded machine, a network blip) is not a reason to
 * end a reconcile. A host key mismatch is no blip. These are those pauses: doubling from 5 s,
 * `totalMs` in all.
 */
export function unreachableRetries(totalMs: number): number[] {
  return backoff(5_000, totalMs);
}

/**
 * A pass with nothing to run because the cluster is settling (decide's `settling`: an etcd member
 * catching up with the leader after a membership change, one briefly unhealthy) is observed again
 * after 1, 2, 4 … s, a minute in all: on a busy machine a member can trail by more than the
 * in-sync bound for seconds, which is no reason to end a grow halfway. Longer than that is no
 * longer settling, and the loop stops with decide's message.
 */
export const SETTLE_RETRY_MS: readonly number[] = backoff(1_000, 60_000);

/** Pauses doubling from `firstMs`, `totalMs` in all. */
function backoff(firstMs: number, totalMs: number): number[] {
  const out: number[] = [];
  let left = totalMs;
  for (let next = firstMs; left > 0; next *= 2) {
    const wait = Math.min(next, left);
    out.push(wait);
    left -= wait;
  }
  return out;
}

/** How a reconcile ended. */
export interface LoopResult {
  readonly outcome: "completed" | "stuck" | "failed";
  readonly phase: string;
  readonly message: string;
  readonly passes: number;
  readonly opsRun: number;
  readonly status?: ClusterStatus;
}

/** Options of the loop. */
export interface LoopOptions {
  readonly maxPasses?: number;
  readonly maxFailures?: number;
  readonly scope?: "etcd" | "all";
}

/** Runs passes until done; see the module comment. */
export async function reconcileLoop(deps: LoopDeps, o: LoopOptions = {}): Promise<LoopResult> {
  const maxPasses = o.maxPasses ?? 30;
  const maxFailures = o.maxFailures ?? 3;
  let opsRun = 0;
  let failures = 0;
  let lastFailed = "";
  let retries = 0;
  let settles = 0;
  // The schema gives every loaded inventory this field; the fallback is for specs built by hand.
  const retryMs = unreachableRetries(
    parseDuration(deps.spec.inventory.reconciler?.unreachableWait ?? UNREACHABLE_WAIT_DEFAULT) ?? 0,
  );
  let last: LoopResult = { outcome: "failed", phase: "none", message: "no pass ran", passes: 0, opsRun: 0 };
  // The last pass's connections, released (kept open) for the next pass and closed once the loop ends.
  let kept: PassIO | undefined;
  try {
    for (let pass = 1; pass <= maxPasses; pass++) {
      const material = await deps.prepare(deps.now());
      const io = deps.open(material);
      kept = io.release ? io : undefined;
      try {
        const status = await observe(deps.spec, material.desired, io);
        const d = decide(deps.spec, status, { now: deps.now(), desired: material.desired, scope: o.scope ?? "all" });
        deps.progress({ kind: "pass", pass, decision: d });
        if (d.ops.length === 0) {
          const unreached = Object.values(status.nodes)
            .filter((n) => !n.reachable && !n.error?.startsWith(HOST_KEY_MISMATCH))
            .map((n) => n.name);
          const wait = retryMs[retries];
          if (d.phase !== "completed" && unreached.length && wait !== undefined && pass < maxPasses) {
            retries++;
            deps.progress({ kind: "unreachable-retry", nodes: unreached, ms: wait });
            await deps.sleep(wait);
            continue;
          }
          const settle = SETTLE_RETRY_MS[settles];
          if (d.settling && !unreached.length && settle !== undefined && pass < maxPasses) {
            settles++;
            deps.progress({ kind: "settle-retry", message: d.message, ms: settle });
            await deps.sleep(settle);
            continue;
          }
          return {
            outcome: d.phase === "completed" ? "completed" : "stuck",
            phase: d.phase,
            message: d.message,
            passes: pass,
            opsRun,
            status,
          };
        }
        const ctx: OpContext = {
          shell: io.shell,
          etcdAdmin: (e) => io.etcdAdmin(e),
          sleep: deps.sleep,
          now: deps.now,
          etcdTls: material.adminTls,
          ...(io.kube ? { kube: io.kube } : {}),
        };
        const failed = await runOps(d, ctx, deps);
        opsRun += failed.ran;
        retries = 0;
        settles = 0;
        if (failed.error) {
          failures = failed.op === lastFailed ? failures + 1 : 1;
          lastFailed = failed.op ?? "";
          last = { outcome: "failed", phase: d.phase, message: failed.error, passes: pass, opsRun, status };
          if (failures >= maxFailures) return last;
        } else {
          failures = 0;
          lastFailed = "";
          last = {
            outcome: "failed",
            phase: d.phase,
            message: `still not done after ${maxPasses} passes`,
            passes: pass,
            opsRun,
            status,
          };
        }
      } finally {
        await (io.release ? io.release() : io.close()).catch(() => undefined);
      }
    }
    return last;
  } finally {
    await kept?.close().catch(() => undefined);
  }
}

async function runOps(
  d: Decision,
  ctx: OpContext,
  deps: LoopDeps,
): Promise<{ ran: number; op?: string; error?: string }> {
  let ran = 0;
  for (const op of d.ops) {
    let rec = deps.records.start(op.name, op.targets, d.phase);
    // A shared store confirms the record under the fence before the op may act.
    await deps.records.fence?.();
    deps.progress({ kind: "op-start", op: op.name, targets: op.targets });
    const t0 = deps.now().getTime();
    ran++;
    let cmdName = "";
    try {
      for (let c = op.nextCommand(); c; c = op.nextCommand()) {
        cmdName = `${c.name}@${c.target}`;
        await c.run(ctx);
      }
    } catch (err) {
      const error = (err as Error).message;
      deps.records.update(rec, { status: "failed", command: cmdName, error, endedAt: deps.now().toISOString() });
      deps.progress({ kind: "op-failed", op: op.name, command: cmdName, error });
      return { ran, op: op.name, error: `${op.name} (${cmdName}): ${error}` };
    }
    rec = deps.records.update(rec, { status: "succeeded", command: cmdName, endedAt: deps.now().toISOString() });
    deps.progress({ kind: "op-done", op: op.name, ms: deps.now().getTime() - t0 });
  }
  return { ran };
}
