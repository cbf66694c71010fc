/**
 * The lab's record of what it created, in `<lab>/state.json`. Each object is recorded before it is
 * created, so `down` (or the cleanup of a failed `up`) can remove it even after a crash.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** One node as the lab created it. */
export interface NodeRecord {
  readonly name: string;
  readonly address: string;
  readonly netns: string;
  readonly veth: string;
  /** MAC address of the node's eth0. */
  readonly mac?: string;
  /** The node's tree: upper/work dirs, data dirs, console log. */
  readonly dir: string;
  /** The node's cgroup dir in every hierarchy. */
  cgroups: string[];
  /** The node's PID 1 (runsvdir) as the host sees it. */
  pid1?: number;
  /** The unshare process that waits for PID 1. */
  launcher?: number;
  /** The node's SSH host key, `ssh-ed25519 <base64>`. */
  hostKey?: string;
}

/** Everything one lab created. */
export interface LabState {
  readonly version: 1;
  readonly env: string;
  bridge?: { readonly name: string; readonly address: string; readonly prefix: number };
  /** The cgroup dirs grouping this lab's nodes (one per hierarchy). */
  cgroupGroups: string[];
  /** True while this lab holds the machine-wide sysctl save (see sysctl.ts). */
  sysctlHeld: boolean;
  nodes: Record<string, NodeRecord>;
}

/** Path of the state file in a lab dir. */
export function stateFile(labDir: string): string {
  return join(labDir, "state.json");
}

/** Reads the lab's state, or undefined when the lab was never brought up (or is fully down). */
export function readState(labDir: string): LabState | undefined {
  const f = stateFile(labDir);
  if (!existsSync(f)) return undefined;
  return JSON.parse(readFileSync(f, "utf8")) as LabState;
}

/** A fresh, empty state. */
export function emptyState(env: string): LabState {
  return { version: 1, env, cgroupGroups: [], sysctlHeld: false, nodes: {} };
}

/** Writes the state atomically (a crash leaves the old or the new file, never half of one). */
export function writeState(labDir: string, state: LabState): void {
  mkdirSync(labDir, { recursive: true });
  const f = stateFile(labDir);
  writeFileSync(f + ".tmp", JSON.stringify(state, null, 2) + "\n", { mode: 0o600 });
  renameSync(f + ".tmp", f);
}
