/**
 * `lab down`: stops every node by its recorded PID 1 and removes every namespace, interface,
 * cgroup dir and file the lab created, and nothing else. Objects carrying this lab's tag that the
 * record missed (a crash between creating and recording) are removed too; processes never are,
 * unless recorded.
 */
import { existsSync, readdirSync, rmSync } from "node:fs";
import { OperationFailedError } from "../cli/errors.js";
import { removeCgroupTree } from "./cgroup.js";
import { labContext, type LabContext, type LabOptions } from "./context.js";
import { mapLimit, tryRun } from "./exec.js";
import { withLock } from "./lock.js";
import { linkExists, netnsExists, removeNodeObjects, stopNodes } from "./node.js";
import { updateKnownHosts } from "./ssh.js";
import { readState, writeState, type LabState, type NodeRecord } from "./state.js";
import { releaseSysctls } from "./sysctl.js";
import { UserError } from "../cli/errors.js";

/** What a `down` did. */
export interface LabDownResult {
  /** Nodes stopped and removed. */
  readonly nodes: readonly string[];
  /** True when this was the last lab up on the machine and the kernel settings were put back. */
  readonly sysctlsRestored: boolean;
}

/**
 * Stops the given nodes and removes their host objects; returns what was left. Without
 * `keepTrees` the nodes are dropped from the state and their pinned keys from known_hosts; with it
 * they stay recorded (files and host key kept) so they can boot again.
 */
export async function removeNodes(
  ctx: LabContext,
  state: LabState,
  recs: readonly NodeRecord[],
  keepTrees = false,
): Promise<string[]> {
  if (recs.length === 0) return [];
  await stopNodes(recs);
  const left: string[] = [];
  // In parallel: most of the time is the kernel freeing each netns (and its veth) asynchronously.
  await mapLimit(recs, 8, async (r) => {
    const l = await removeNodeObjects(r, keepTrees);
    if (l.length > 0) left.push(...l.map((x) => `${r.name}: ${x}`));
    else if (keepTrees) {
      r.pid1 = r.launcher = undefined;
      r.cgroups = [];
      ctx.progress(`  ${r.name.padEnd(12)} stopped`);
    } else {
      delete state.nodes[r.name];
      ctx.progress(`  ${r.name.padEnd(12)} removed`);
    }
  });
  writeState(ctx.labDir, state);
  if (!keepTrees) updateKnownHosts(ctx.paths.knownHosts, new Set(recs.map((r) => r.address)), new Map());
  return left;
}

/** Netns and links with this lab's tag that the record does not know about. */
async function strays(ctx: LabContext, state: LabState): Promise<{ netns: string[]; links: string[] }> {
  const known = new Set(Object.values(state.nodes).map((n) => n.netns));
  const netns = existsSync("/run/netns")
    ? readdirSync("/run/netns").filter((n) => n.startsWith(ctx.names.netnsPrefix) && !known.has(n))
    : [];
  const links = readdirSync("/sys/class/net").filter((l) => l.startsWith(ctx.names.vethPrefix));
  return { netns, links };
}

/** Tears the lab down with the lock held; used by `down` and by a failed `up`. */
export async function teardown(ctx: LabContext, state: LabState): Promise<LabDownResult> {
  const recs = Object.values(state.nodes);
  const left = await removeNodes(ctx, state, recs);
  const stray = await strays(ctx, state);
  for (const n of stray.netns) if (netnsExists(n)) await tryRun(["ip", "netns", "del", n]);
  for (const l of stray.links) if (linkExists(l)) await tryRun(["ip", "link", "del", l]);
  for (const g of state.cgroupGroups) left.push(...removeCgroupTree(g).map((x) => `cgroup ${x}`));
  if (left.length === 0) state.cgroupGroups = [];
  if (state.bridge && left.length === 0) {
    if (linkExists(state.bridge.name)) {
      const r = await tryRun(["ip", "link", "del", state.bridge.name]);
      if (r.code !== 0) left.push(`bridge ${state.bridge.name}: ${r.stderr.trim()}`);
    }
    if (!linkExists(state.bridge.name)) {
      ctx.progress(`  bridge ${state.bridge.name} removed`);
      state.bridge = undefined;
    }
  }
  writeState(ctx.labDir, state);
  if (left.length > 0) {
    throw new OperationFailedError(
      `lab ${ctx.env}: could not remove everything; run \`yagura lab down ${ctx.env}\` again:\n  ${left.join("\n  ")}`,
    );
  }
  let sysctlsRestored = false;
  if (state.sysctlHeld) {
    sysctlsRestored = await releaseSysctls(ctx.labDir);
    state.sysctlHeld = false;
    if (sysctlsRestored) ctx.progress("  kernel settings restored");
  }
  rmSync(ctx.sshConfig, { force: true });
  rmSync(ctx.labDir, { recursive: true, force: true });
  return { nodes: recs.map((r) => r.name), sysctlsRestored };
}

/** Takes the env's lab lock, or fails saying who holds it. */
export function withLabLock<T>(ctx: LabContext, fn: () => Promise<T>): Promise<T> {
  return withLock(ctx.lockFile, fn, 30_000, (pid) => {
    throw new UserError(`another yagura lab command (pid ${pid}) is working on ${ctx.env}; wait for it to finish`);
  });
}

/** Stops the lab of `env` and removes everything it created (harmless when it is not up). */
export async function labDown(env: string, opts: LabOptions = {}): Promise<LabDownResult> {
  const ctx = labContext(env, opts);
  if (!existsSync(ctx.paths.dir)) return { nodes: [], sysctlsRestored: false };
  return withLabLock(ctx, async () => {
    const state = readState(ctx.labDir);
    if (!state) {
      rmSync(ctx.labDir, { recursive: true, force: true });
      return { nodes: [], sysctlsRestored: false };
    }
    ctx.progress(`lab ${env}: stopping ${Object.keys(state.nodes).length} node(s)`);
    return teardown(ctx, state);
  });
}
