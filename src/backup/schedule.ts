/** When the next scheduled snapshot is due: pure, so the reconcile ladder can ask it with its own `now`. */
import { durationMs } from "../run/material.js";

/** True when no snapshot was taken yet or `schedule` (an inventory duration, "15m") has passed since the last one. */
export function due(now: Date, lastTakenAt: Date | undefined, schedule: string): boolean {
  if (lastTakenAt === undefined) return true;
  // A last snapshot dated in the future (clock stepped back) must not block snapshots for that long.
  if (lastTakenAt.getTime() > now.getTime()) return true;
  return now.getTime() - lastTakenAt.getTime() >= durationMs(schedule);
}

/** Human age of a snapshot ("3m", "2h5m", "4d"), for listings. */
export function age(now: Date, then: Date): string {
  const s = Math.max(0, Math.floor((now.getTime() - then.getTime()) / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h${m % 60 ? `${m % 60}m` : ""}`;
  return `${Math.floor(h / 24)}d`;
}
