/**
 * The environment lock with fencing. The lock file is never deleted: it holds the holder (pid,
 * hostname, start time), a lease the holder renews, and a fencing token that grows by one on every
 * acquisition. A holder whose pid is dead (same host) or whose lease ran out is stale and is taken
 * over; every write of the old holder then fails its token check.
 */
import {
  existsSync,
  mkdirSync,
  openSync,
  closeSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { hostname } from "node:os";
import { dirname } from "node:path";
import { RefusedError } from "../cli/errors.js";
import { pidAlive } from "../infra/process.js";

/** What the lock file says. */
export interface LockState {
  readonly held: boolean;
  readonly pid: number;
  readonly hostname: string;
  readonly startedAt: string;
  readonly leaseUntil: string;
  readonly token: number;
}

/** A held lock. */
export interface EnvLock {
  readonly token: number;
  /** The previous holder when this acquisition took over a stale lock. */
  readonly tookOver?: LockState;
  /** Throws when another reconciler holds the lock now (this one was fenced off). */
  check(): void;
  release(): void;
}

/** Options of acquireLock. */
export interface LockOptions {
  /** How long to wait for a live holder. @default 0 */
  readonly waitMs?: number;
  /** Lease length; renewed every third of it. @default 30000 */
  readonly leaseMs?: number;
  readonly now?: () => number;
}

function read(path: string): LockState | undefined {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as LockState;
  } catch {
    return undefined;
  }
}

function write(path: string, s: LockState): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(s) + "\n", { mode: 0o600 });
  renameSync(tmp, path);
}

/** Is this holder gone (dead pid on this host, or lease expired)? */
export function isStale(s: LockState, now: number): boolean {
  if (!s.held) return true;
  if (s.hostname === hostname() && !pidAlive(s.pid)) return true;
  return Date.parse(s.leaseUntil) < now;
}

// A short-lived guard makes read-modify-write of the lock file atomic between reconcilers.
function withGuard<T>(path: string, fn: () => T): T {
  const guard = `${path}.guard`;
  for (let i = 0; ; i++) {
    try {
      closeSync(openSync(guard, "wx", 0o600));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      try {
        if (Date.now() - statSync(guard).mtimeMs > 10_000) unlinkSync(guard);
      } catch {
        /* raced with its owner */
      }
      if (i > 2000) throw new RefusedError(`${guard} stays locked; remove it if no yagura runs`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    }
  }
  try {
    return fn();
  } finally {
    try {
      unlinkSync(guard);
    } catch {
      /* already gone */
    }
  }
}

/** Acquires the lock at `path`, waiting up to `waitMs` for a live holder, else RefusedError naming it. */
export async function acquireLock(path: string, o: LockOptions = {}): Promise<EnvLock> {
  const now = o.now ?? Date.now;
  const leaseMs = o.leaseMs ?? 30_000;
  const deadline = now() + (o.waitMs ?? 0);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  for (;;) {
    const got = withGuard(path, () => {
      const cur = existsSync(path) ? read(path) : undefined;
      if (cur && !isStale(cur, now())) return { cur, mine: undefined };
      const mine: LockState = {
        held: true,
        pid: process.pid,
        hostname: hostname(),
        startedAt: new Date(now()).toISOString(),
        leaseUntil: new Date(now() + leaseMs).toISOString(),
        token: (cur?.token ?? 0) + 1,
      };
      write(path, mine);
      return { cur, mine };
    });
    if (got.mine) return holding(path, got.mine, got.cur?.held ? got.cur : undefined, leaseMs, now);
    if (now() >= deadline) {
      const c = got.cur!;
      throw new RefusedError(
        `environment is locked by pid ${c.pid} on ${c.hostname} since ${c.startedAt} (token ${c.token}); ` +
          `wait for it, or pass --wait SECONDS`,
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

function holding(
  path: string,
  mine: LockState,
  tookOver: LockState | undefined,
  leaseMs: number,
  now: () => number,
): EnvLock {
  let released = false;
  const mineNow = () => {
    const cur = read(path);
    return cur !== undefined && cur.held && cur.token === mine.token && cur.pid === mine.pid;
  };
  const timer = setInterval(
    () => {
      withGuard(path, () => {
        if (mineNow()) write(path, { ...read(path)!, leaseUntil: new Date(now() + leaseMs).toISOString() });
      });
    },
    Math.max(1000, leaseMs / 3),
  );
  timer.unref();
  return {
    token: mine.token,
    ...(tookOver ? { tookOver } : {}),
    check() {
      if (released || !mineNow()) {
        const cur = read(path);
        throw new RefusedError(
          `lost the environment lock (token ${mine.token}; now held by pid ${cur?.pid} with token ${cur?.token})`,
        );
      }
    },
    release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      withGuard(path, () => {
        const cur = read(path);
        if (cur && cur.token === mine.token) write(path, { ...cur, held: false });
      });
    },
  };
}
