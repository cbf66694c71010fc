/**
 * Infrastructure drift inside `reconcile --watch`: a drift check on its own interval (default 1h;
 * a plan is slow and talks to the cloud's APIs, so it does not ride every reconcile pass), never
 * two at once, each result logged and handed to the metrics. It applies nothing unless the watch
 * was started with --apply-infra, and even then only `cdktf deploy ENV` after a check that found
 * changes: an unknown result (no provider, a Terraform error) is never applied.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { PROJECT_DIR } from "../infra/stack-outputs.js";
import type { ClusterSpec } from "../cluster/spec.js";
import { checkDrift, driftGauge, verdict, type DriftResult } from "./check.js";
import { setTimeout as sleepAbortable } from "node:timers/promises";

/** What the drift watch is wired to. */
export interface DriftWatchDeps {
  readonly env: string;
  readonly intervalMs: number;
  readonly applyInfra: boolean;
  check(): Promise<DriftResult>;
  /** Runs `cdktf deploy ENV`; resolves with its exit code and last output lines. */
  apply(): Promise<{ code: number; tail: string }>;
  onResult(r: DriftResult): void;
  log(line: string): void;
  /** Resolves after `ms` or when `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

/** A running drift watch. */
export interface DriftWatch {
  /** Stops after the check in hand (a plan is never cut off halfway); resolves once stopped. */
  stop(): Promise<void>;
}

/** One drift check with its log lines and, with applyInfra and changes, one `cdktf deploy`. */
export async function driftRound(d: DriftWatchDeps): Promise<DriftResult> {
  let r: DriftResult;
  try {
    r = await d.check();
  } catch (err) {
    r = { kind: "unknown", reason: "terraform", message: `the drift check failed: ${(err as Error).message}` };
  }
  d.onResult(r);
  d.log(`infra drift of ${d.env}: ${verdict(r)}`);
  if (r.kind === "changes" && !d.applyInfra)
    d.log(`  not applied: run \`cdktf deploy ${d.env}\`, or start the watch with --apply-infra`);
  if (r.kind === "unknown" && d.applyInfra) d.log("  not applying: whether the stack drifted is unknown");
  if (r.kind === "changes" && d.applyInfra) {
    d.log(`  --apply-infra: running cdktf deploy ${d.env}`);
    const a = await d.apply().catch((err: Error) => ({ code: -1, tail: err.message }));
    d.log(`  cdktf deploy ${d.env} ${a.code === 0 ? "succeeded" : `failed (exit ${a.code}): ${a.tail}`}`);
  }
  return r;
}

/** Starts checking at once, then every interval, until stopped. */
export function startDriftWatch(d: DriftWatchDeps): DriftWatch {
  const stopping = new AbortController();
  const done = (async () => {
    while (!stopping.signal.aborted) {
      await driftRound(d);
      if (stopping.signal.aborted) break;
      await d.sleep(d.intervalMs, stopping.signal).catch(() => undefined);
    }
  })();
  return {
    async stop() {
      stopping.abort();
      await done;
    },
  };
}

/** `cdktf deploy ENV --auto-approve` in the project (the same stacks the check synthesized). */
export function cdktfDeploy(env: string, projectDir = PROJECT_DIR): Promise<{ code: number; tail: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(join(projectDir, "node_modules", ".bin", "cdktf"), ["deploy", env, "--auto-approve"], {
      cwd: projectDir,
      env: { ...process.env, CHECKPOINT_DISABLE: "1", CI: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    const keep = (b: Buffer) => (out = (out + b.toString()).slice(-4000));
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, tail: out.trim().split("\n").slice(-3).join(" | ") }));
  });
}

/** The --watch flags of drift. */
export interface DriftFlags {
  readonly intervalMs: number;
  readonly applyInfra: boolean;
  /** Provider plugins from this directory only (terraform init -plugin-dir). */
  readonly pluginDir?: string;
}

/** Starts the drift watch of `spec` when it has a stack; logs why not otherwise. */
export function watchDriftOf(
  spec: ClusterSpec,
  flags: DriftFlags | undefined,
  setGauge: (v: number) => void,
  log: (line: string) => void,
): DriftWatch | undefined {
  if (!flags) return undefined;
  if (!spec.inventory.openstack) {
    log(`infra drift: ${spec.env} has no openstack section, so there is no stack to check`);
    return undefined;
  }
  return startDriftWatch({
    env: spec.env,
    intervalMs: flags.intervalMs,
    applyInfra: flags.applyInfra,
    check: () => checkDrift(spec, flags.pluginDir ? { pluginDir: flags.pluginDir } : {}),
    apply: () => cdktfDeploy(spec.env),
    onResult: (r) => setGauge(driftGauge(r)),
    log,
    sleep: (ms, signal) => sleepAbortable(ms, undefined, { signal }),
  });
}
