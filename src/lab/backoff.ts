/**
 * Pacing for the lab's waits: exponential backoff with jitter, so hundreds of nodes polled at once
 * spread out instead of hitting the machine in lock step, and a short description of the machine's
 * load for the messages that report a slow wait.
 */
import { availableParallelism } from "node:os";
import { readFileSync } from "node:fs";

/** How a backoff grows. */
export interface BackoffOptions {
  /** First delay. @default 50 */
  readonly initialMs?: number;
  /** Largest delay. @default 2000 */
  readonly maxMs?: number;
  /** Growth per step. @default 2 */
  readonly factor?: number;
  /** Source of randomness in [0, 1) (injected by tests). @default Math.random */
  readonly random?: () => number;
}

/**
 * Returns the delays of one waiter: step n waits between half and all of
 * min(max, initial × factor^n) ("equal jitter": never less than half, so a waiter always backs off).
 */
export function backoff(o: BackoffOptions = {}): () => number {
  const initial = o.initialMs ?? 50;
  const max = o.maxMs ?? 2000;
  const factor = o.factor ?? 2;
  const random = o.random ?? Math.random;
  let step = 0;
  return () => {
    const ceiling = Math.min(max, initial * factor ** step);
    if (ceiling < max) step++;
    return Math.round(ceiling / 2 + random() * (ceiling / 2));
  };
}

/** Resolves after `ms`. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** "load average 12.3 on 2 CPUs", for messages about a slow wait. */
export function loadSummary(): string {
  try {
    const l1 = readFileSync("/proc/loadavg", "utf8").split(" ")[0];
    return `load average ${l1} on ${availableParallelism()} CPU(s)`;
  } catch {
    return "load average unknown";
  }
}
