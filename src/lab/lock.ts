/**
 * A small exclusive lock file (holder's pid inside). A lock whose holder died is taken over, so a
 * crashed command never blocks the next one.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { pidAlive } from "../infra/process.js";

/** Locks this process holds: the pid in the file cannot tell two callers in one process apart. */
const held = new Set<string>();

function tryTake(path: string): number | undefined {
  if (held.has(path)) return process.pid;
  try {
    const fd = openSync(path, "wx", 0o600);
    writeSync(fd, String(process.pid));
    closeSync(fd);
    return undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
  let holder = NaN;
  try {
    holder = Number(readFileSync(path, "utf8").trim());
  } catch {
    return tryTake(path); // released between our open and read
  }
  if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && pidAlive(holder)) return holder;
  try {
    unlinkSync(path); // stale: its holder is gone
  } catch {
    // someone else removed it first
  }
  return tryTake(path);
}

/**
 * Runs fn holding the lock at `path`. Waits up to `waitMs` for a live holder; then calls
 * `onBusy(holderPid)`, which should throw.
 */
export async function withLock<T>(
  path: string,
  fn: () => Promise<T>,
  waitMs: number,
  onBusy: (pid: number) => never,
): Promise<T> {
  const until = Date.now() + waitMs;
  for (;;) {
    const holder = tryTake(path);
    if (holder === undefined) {
      held.add(path);
      break;
    }
    if (Date.now() >= until) onBusy(holder);
    await new Promise((r) => setTimeout(r, 50));
  }
  try {
    return await fn();
  } finally {
    held.delete(path);
    try {
      unlinkSync(path);
    } catch {
      // already gone
    }
  }
}
