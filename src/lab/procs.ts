/**
 * The lab's processes, by recorded pid only. The host sees every node's processes, so a signal by
 * name would hit all nodes (and other labs); a recorded pid is signalled only while /proc still
 * shows the command we started there, so a reused pid is never hit.
 */
import { readFileSync } from "node:fs";

/** The command name of a live process, or undefined when it is gone. */
export function comm(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return undefined;
  }
}

/** True while `pid` runs one of `names` (a zombie still counts until reaped). */
export function isOurs(pid: number | undefined, names: readonly string[]): pid is number {
  if (!pid || pid <= 1) return false;
  const c = comm(pid);
  return c !== undefined && names.includes(c) && !isZombie(pid);
}

function isZombie(pid: number): boolean {
  try {
    return / Z /.test(readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\)/, ""));
  } catch {
    return true;
  }
}

/** Direct children of a process, from /proc/<pid>/task/<pid>/children. */
export function children(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Sends `signal` to `pid` if it still runs one of `names`; returns whether it sent. */
export function signalIfOurs(pid: number | undefined, names: readonly string[], signal: NodeJS.Signals): boolean {
  if (!isOurs(pid, names)) return false;
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Waits until `done()` is true or `ms` pass; returns the last value of done(). `probe`, when
 * given, runs before each check (to gather what done() looks at).
 */
export async function waitFor(
  done: () => boolean,
  ms: number,
  stepMs = 25,
  probe?: () => Promise<unknown>,
): Promise<boolean> {
  const until = Date.now() + ms;
  for (;;) {
    if (probe) await probe();
    if (done()) return true;
    if (Date.now() >= until) return false;
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** Command names a node's PID 1 has (runsvdir once node-init has exec'd it). */
export const PID1_NAMES = ["runsvdir"] as const;
/** Command names the launcher goes through (script, nsenter, then unshare waiting for PID 1). */
export const LAUNCHER_NAMES = ["node-launch", "nsenter", "unshare"] as const;
/** Command names a node's namespace init has: node-init until it execs runsvdir. */
export const INIT_NAMES = ["runsvdir", "node-init"] as const;
