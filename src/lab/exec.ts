/** Running host commands for the lab: argument vectors only (no shell), with output kept for errors. */
import { execFile, spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

/** A host command that failed: the command line, exit code and output, for the operator. */
export class LabCommandError extends Error {
  override readonly name = "CommandError";
  constructor(
    readonly argv: readonly string[],
    readonly code: number | string,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    const out = (stderr.trim() || stdout.trim()).slice(-1500);
    super(`host: command exited ${code}: ${argv.join(" ")}${out ? `\n  ${out}` : ""}`);
  }
}

/** Result of a command that may fail. */
export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs argv; resolves with its status and output, never rejects on a non-zero exit. */
export function tryRun(argv: readonly string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const [cmd, ...args] = argv;
    const child = execFile(
      cmd!,
      args,
      { timeout: opts.timeoutMs ?? 60_000, maxBuffer: 16 << 20, encoding: "utf8" },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : 127) : 0;
        resolve({ code, stdout, stderr: stderr || (err && !stderr ? String(err.message) : "") });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Runs argv; rejects with LabCommandError on a non-zero exit; resolves with stdout. */
export async function run(argv: readonly string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<string> {
  const r = await tryRun(argv, opts);
  if (r.code !== 0) throw new LabCommandError(argv, r.code, r.stdout, r.stderr);
  return r.stdout;
}

/** Starts argv detached from us (its own session), output appended to `logFd`; returns its pid. */
export function spawnDetached(argv: readonly string[], logFd: number): number {
  const [cmd, ...args] = argv;
  const child = spawn(cmd!, args, { detached: true, stdio: ["ignore", logFd, logFd] });
  child.unref();
  if (child.pid === undefined) throw new LabCommandError(argv, "spawn", "", "could not start the process");
  return child.pid;
}

/** Full path of an executable found in `path` (default: PATH plus the dirs root uses), or undefined. */
export function which(name: string, path?: string): string | undefined {
  const dirs =
    path !== undefined
      ? path.split(delimiter)
      : [...(process.env.PATH ?? "").split(delimiter), "/usr/sbin", "/sbin", "/usr/bin", "/bin"];
  for (const d of dirs) {
    if (!d) continue;
    const p = join(d, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}

/**
 * Runs `fn` over items with at most `limit` at once, in input order. Every item runs even when one
 * fails (so cleanup sees a settled world); the first failure is thrown at the end.
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (t: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  const errors: unknown[] = [];
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      try {
        out[i] = await fn(items[i]!, i);
      } catch (err) {
        errors.push(err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (errors.length > 0) throw errors[0];
  return out;
}
