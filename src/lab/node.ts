/**
 * One lab node's life on the host: its netns and veth on the bridge, its cgroups, and its PID 1
 * started in fresh namespaces; and, in reverse, stopping it and removing every object it had.
 */
import type { HostKey } from "../pki/host-keys.js";
import { closeSync, existsSync, openSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { ensureNodeDirs, cgroupPids, removeCgroupTree } from "./cgroup.js";
import { run, spawnDetached, tryRun } from "./exec.js";
import { upperPath, writeNodeTree } from "./nodefs.js";
import { OperationFailedError } from "../cli/errors.js";
import { backoff, loadSummary, sleep } from "./backoff.js";
import { children, comm, INIT_NAMES, isOurs, LAUNCHER_NAMES, PID1_NAMES, signalIfOurs, waitFor } from "./procs.js";
import type { NodeRecord } from "./state.js";

/** What creating a node needs from the lab. */
export interface NodeContext {
  readonly bridge: string;
  readonly prefix: number;
  /** Holds node-launch and node-init. */
  readonly binDir: string;
  /** Hidden from the node (a tmpfs over it): the state root with keys and every node's tree. */
  readonly hideDir: string;
  /** The lab's cgroup group dirs, one per hierarchy. */
  readonly groupDirs: readonly string[];
  readonly operatorPublicKey: string;
  /** The yagura-issued host key of a node (see src/pki/host-keys.ts). */
  readonly hostKey: (node: string) => HostKey;
  readonly pauseImage?: string;
  /** Called whenever the record gained a field, so it is on disk before the next step. */
  readonly save: () => void;
  /** Mount source name for the node's mounts. */
  readonly mountTag: (node: string) => string;
}

/** True when the netns is present on the host. */
export function netnsExists(name: string): boolean {
  return existsSync(join("/run/netns", name));
}

/** True when a host interface of this name exists. */
export function linkExists(name: string): boolean {
  return existsSync(join("/sys/class/net", name));
}

/** The last lines of a node's console (`<dir>/console.log`: node-init, runsvdir and its services). */
export function consoleTail(dir: string, lines = 8): string {
  try {
    const text = readFileSync(join(dir, "console.log"), "utf8").trim();
    return text ? text.split("\n").slice(-lines).join("\n") : "(the console is empty)";
  } catch {
    return "(no console output)";
  }
}

/** Creates the node recorded in `rec` (already saved) and starts its launcher (see awaitPid1). */
export async function createNode(ctx: NodeContext, rec: NodeRecord): Promise<void> {
  // A node that only lost its processes boots again from its tree, like a machine after a crash:
  // same files, same host key (so pinned keys stay valid).
  const reboot = rec.hostKey !== undefined && existsSync(upperPath(rec.dir, "/etc/ssh/ssh_host_ed25519_key"));
  if (!reboot) {
    rec.hostKey = await writeNodeTree({
      name: rec.name,
      address: rec.address,
      dir: rec.dir,
      operatorPublicKey: ctx.operatorPublicKey,
      hostKey: ctx.hostKey(rec.name),
      pauseImage: ctx.pauseImage,
    });
    ctx.save();
  }
  // Names and addresses were validated (interface-name and IPv4 rules): safe as batch words.
  const mac = rec.mac ? ` address ${rec.mac}` : "";
  await run(["ip", "-batch", "-"], {
    input:
      `netns add ${rec.netns}\n` +
      `link add ${rec.veth} type veth peer name eth0${mac} netns ${rec.netns}\n` +
      `link set ${rec.veth} master ${ctx.bridge} up\n`,
  });
  // lo and eth0 only, no default route: the node reaches its subnet and itself, nothing else.
  await run(["ip", "-n", rec.netns, "-batch", "-"], {
    input: `addr add ${rec.address}/${ctx.prefix} dev eth0\nlink set lo up\nlink set eth0 up\n`,
  });
  rec.cgroups = ensureNodeDirs(ctx.groupDirs, rec.name);
  ctx.save();
  const log = openSync(join(rec.dir, "console.log"), "a", 0o600);
  try {
    rec.launcher = spawnDetached(
      [
        join(ctx.binDir, "node-launch"),
        join("/run/netns", rec.netns),
        String(rec.cgroups.length),
        ...rec.cgroups,
        join(ctx.binDir, "node-init"),
        rec.name,
        rec.dir,
        ctx.hideDir,
        ctx.mountTag(rec.name),
      ],
      log,
    );
  } finally {
    closeSync(log);
  }
  ctx.save();
}

/** What a node's launcher is doing, for a message about a slow boot (`node-init running umount`). */
function bootActivity(launcher: number): string {
  const init = children(launcher)[0];
  if (init === undefined)
    return `its launcher (pid ${launcher}, ${comm(launcher) ?? "gone"}) has not forked node-init yet`;
  const busy = children(init).map((c) => comm(c) ?? "?");
  return `${comm(init) ?? "node-init"} (pid ${init}) ${busy.length ? `is running ${busy.join(", ")}` : "runs"}`;
}

/**
 * Waits until the node's launcher has a runsvdir child (node-init exec'd it) and records it as
 * the node's PID 1. Separate from createNode so that nodes boot while others are being created.
 * Decided by progress, not by a short deadline: while the launcher runs, the node is still
 * starting (hundreds of nodes mounting at once take a while) and is waited for up to `limitMs`;
 * a launcher that exited fails at once with the node's console. `signal` gives up quietly (another
 * node failed).
 */
export async function awaitPid1(
  rec: NodeRecord,
  save: () => void,
  limitMs = 120_000,
  signal?: AbortSignal,
): Promise<void> {
  const launcher = rec.launcher;
  if (launcher === undefined) throw new Error(`node ${rec.name}: not started`);
  const next = backoff({ initialMs: 10, maxMs: 500 });
  const started = Date.now();
  for (;;) {
    const pid1 = children(launcher).find((c) => comm(c) === "runsvdir");
    if (pid1 !== undefined) {
      rec.pid1 = pid1;
      save();
      return;
    }
    if (signal?.aborted) throw new OperationFailedError(`node ${rec.name}: boot wait abandoned`);
    const consoleLines = () =>
      `  its console (${join(rec.dir, "console.log")}) ends with:\n    ${consoleTail(rec.dir).split("\n").join("\n    ")}`;
    if (!isOurs(launcher, LAUNCHER_NAMES))
      throw new OperationFailedError(
        `node ${rec.name}: stopped before its PID 1 (runsvdir) started\n${consoleLines()}\n` +
          "  try: fix what the console names, then run `yagura lab up` again",
      );
    if (Date.now() - started >= limitMs)
      throw new OperationFailedError(
        `node ${rec.name}: PID 1 (runsvdir) has not started within ${Math.round(limitMs / 1000)} s, though the node is still booting: ` +
          `${bootActivity(launcher)} (${loadSummary()})\n${consoleLines()}\n` +
          "  try: `yagura lab up` again once the machine is less busy, or run fewer nodes",
      );
    await sleep(next());
  }
}

/** True when the node's netns is there and its PID 1 is the runsvdir we started. */
export function nodeHealthy(rec: NodeRecord): boolean {
  return netnsExists(rec.netns) && isOurs(rec.pid1, PID1_NAMES) && linkExists(rec.veth);
}

/**
 * The node's namespace init as the host sees it: the recorded PID 1, or (for a node whose PID 1 was
 * never recorded, e.g. an interrupted up) the child of its recorded launcher.
 */
function nsInit(r: NodeRecord): number | undefined {
  if (isOurs(r.pid1, PID1_NAMES)) return r.pid1;
  if (!isOurs(r.launcher, ["unshare"])) return undefined;
  return children(r.launcher).find((c) => isOurs(c, INIT_NAMES));
}

/**
 * Stops nodes: HUP to each PID 1 (runsvdir TERMs its services and exits; the kernel then kills
 * whatever is left in the node's pid namespace), KILL after a grace period, then the launchers.
 */
export async function stopNodes(recs: readonly NodeRecord[], graceMs = 3000): Promise<void> {
  // A launcher between its script and unshare may be about to fork the init: let it get there.
  await waitFor(() => recs.every((r) => !isOurs(r.launcher, ["node-launch", "nsenter"])), 2000);
  for (const r of recs) {
    const p = nsInit(r);
    // runsvdir stops its services on HUP; node-init (not yet runsvdir) ignores it, as any ns init does.
    if (p) signalIfOurs(p, INIT_NAMES, comm(p) === "runsvdir" ? "SIGHUP" : "SIGKILL");
  }
  await waitFor(() => recs.every((r) => nsInit(r) === undefined), graceMs);
  for (const r of recs) signalIfOurs(nsInit(r), INIT_NAMES, "SIGKILL");
  await waitFor(() => recs.every((r) => !isOurs(r.launcher, LAUNCHER_NAMES)), 2000);
  // A launcher still there never forked an init (or it hung): it is ours, end it.
  for (const r of recs) if (children(r.launcher ?? 0).length === 0) signalIfOurs(r.launcher, LAUNCHER_NAMES, "SIGKILL");
  await waitFor(() => recs.every((r) => !isOurs(r.launcher, LAUNCHER_NAMES)), 2000);
}

/**
 * Removes a stopped node's host objects: netns (its veth goes with it), cgroup dirs (once the
 * node's tasks are gone) and, unless `keepTree`, its tree. Returns what could not be removed.
 */
export async function removeNodeObjects(rec: NodeRecord, keepTree = false): Promise<string[]> {
  const left: string[] = [];
  if (netnsExists(rec.netns)) {
    const r = await tryRun(["ip", "netns", "del", rec.netns]);
    if (r.code !== 0) left.push(`netns ${rec.netns}: ${r.stderr.trim()}`);
  }
  // The veth dies with its netns, a moment later (the kernel frees a netns asynchronously).
  if (!(await waitFor(() => !linkExists(rec.veth), 3000))) {
    await tryRun(["ip", "link", "del", rec.veth]);
    if (linkExists(rec.veth)) left.push(`link ${rec.veth}`);
  }
  await waitFor(() => rec.cgroups.every((d) => cgroupPids(d).length === 0), 5000);
  for (const d of rec.cgroups) left.push(...removeCgroupTree(d).map((x) => `cgroup ${x}`));
  if (left.length === 0 && !keepTree) rmSync(rec.dir, { recursive: true, force: true });
  return left;
}
