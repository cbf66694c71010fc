/**
 * `lab up`: brings the lab of an environment to what its inventory says. Healthy nodes are kept,
 * missing or broken ones are (re)created, nodes gone from the inventory are removed. A failed run
 * removes what it created (the whole lab when it was the first run).
 */
import { ensureHostKeys } from "../pki/host-keys.js";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ClusterSpec } from "../cluster/spec.js";
import { OperationFailedError, RefusedError, UserError } from "../cli/errors.js";
import { ensureGroupDirs } from "./cgroup.js";
import { labContext, type LabContext, type LabOptions } from "./context.js";
import { removeNodes, teardown, withLabLock } from "./down.js";
import { mapLimit, run } from "./exec.js";
import { awaitPid1, createNode, linkExists, nodeHealthy, type NodeContext } from "./node.js";
import { buildPauseImage, pauseUnavailable } from "./pause.js";
import { checkHostClashes, planLab, requirePrerequisites, type LabPlan } from "./preflight.js";
import { LAUNCH_SCRIPT, NODE_INIT_SCRIPT } from "./scripts.js";
import { ensureOperatorKey, routedViaBridge, sshConfigText, updateKnownHosts } from "./ssh.js";
import { awaitSshd } from "./sshd-wait.js";
import { emptyState, readState, writeState, type LabState, type NodeRecord } from "./state.js";
import { holdSysctls, SYSCTL_DIR } from "./sysctl.js";
import { withLock } from "./lock.js";

/** Options of `labUp`. */
export interface LabUpOptions extends LabOptions {
  /** Wait until every node's sshd answers (default true). */
  readonly waitForSsh?: boolean;
  /** Remove lab nodes that are no longer in the inventory (default true). */
  readonly prune?: boolean;
  /** Nodes created at once (default 4). */
  readonly concurrency?: number;
  /** Build the pause image and place it on each node (default true; skipped with a note when gcc is missing). */
  readonly pauseImage?: boolean;
}

/** What `labUp` did and how to reach the nodes. */
export interface LabUpResult {
  readonly created: readonly string[];
  /** Nodes that were down and booted again from their own tree (same files, same host key). */
  readonly restarted: readonly string[];
  readonly kept: readonly string[];
  readonly removed: readonly string[];
  readonly nodes: readonly { readonly name: string; readonly address: string; readonly pid1: number }[];
  readonly sshKey: string;
  readonly knownHosts: string;
  readonly sshConfig: string;
  /** Why the pause image is missing, when it is. */
  readonly pauseImageNote?: string;
}

async function ensureBridge(ctx: LabContext, state: LabState, plan: LabPlan): Promise<void> {
  const b = state.bridge;
  if (b && (b.name !== plan.bridge || b.address !== plan.bridgeAddress || b.prefix !== plan.prefix)) {
    throw new UserError(
      `lab ${ctx.env} runs on bridge ${b.name} ${b.address}/${b.prefix}; run \`yagura lab down ${ctx.env}\` before changing lab.bridge or lab.cidr`,
    );
  }
  state.bridge = { name: plan.bridge, address: plan.bridgeAddress, prefix: plan.prefix };
  writeState(ctx.labDir, state);
  if (linkExists(plan.bridge)) return;
  await run(["ip", "link", "add", plan.bridge, "type", "bridge"]);
  await run(["ip", "addr", "add", `${plan.bridgeAddress}/${plan.prefix}`, "dev", plan.bridge]);
  await run(["ip", "link", "set", plan.bridge, "up"]);
  ctx.progress(`  bridge ${plan.bridge} ${plan.bridgeAddress}/${plan.prefix}`);
}

function writeScripts(ctx: LabContext): void {
  mkdirSync(ctx.binDir, { recursive: true, mode: 0o700 });
  for (const [name, text] of [
    ["node-launch", LAUNCH_SCRIPT],
    ["node-init", NODE_INIT_SCRIPT],
  ] as const) {
    writeFileSync(join(ctx.binDir, name), text, { mode: 0o755 });
    chmodSync(join(ctx.binDir, name), 0o755);
  }
}

function writeSshFiles(ctx: LabContext, state: LabState, dropped: readonly string[]): void {
  const nodes = Object.values(state.nodes).filter((n) => n.hostKey);
  const entries = new Map(nodes.map((n) => [n.address, n.hostKey!]));
  updateKnownHosts(ctx.paths.knownHosts, new Set([...entries.keys(), ...dropped]), entries);
  writeFileSync(ctx.sshConfig, sshConfigText(ctx.paths.sshKey, ctx.paths.knownHosts, nodes), { mode: 0o644 });
}

/** Brings up (or brings up to date) the lab of `spec.env`; see the module comment. */
export async function labUp(spec: ClusterSpec, opts: LabUpOptions = {}): Promise<LabUpResult> {
  const ctx = labContext(spec.env, opts);
  requirePrerequisites();
  const plan = planLab(spec, ctx.root);
  mkdirSync(ctx.paths.dir, { recursive: true, mode: 0o700 });
  return withLabLock(ctx, async () => {
    const prior = readState(ctx.labDir);
    const state = prior ?? emptyState(spec.env);
    await checkHostClashes(plan, state.bridge?.name === plan.bridge);
    writeState(ctx.labDir, state);
    const created: string[] = [];
    try {
      return await bringUp(ctx, state, plan, opts, created);
    } catch (err) {
      const fresh = !prior || Object.keys(prior.nodes).length === 0;
      if (fresh || created.length > 0) ctx.progress(`lab ${spec.env}: failed; removing what this run created`);
      const cleanup = async () => {
        if (fresh) await teardown(ctx, state);
        else await removeNodes(ctx, state, created.map((n) => state.nodes[n]!).filter(Boolean));
      };
      // The original failure is what the caller needs; a cleanup that fell short is reported next to it.
      await cleanup().catch((e: Error) =>
        ctx.progress(`lab ${spec.env}: cleanup incomplete (run \`yagura lab down ${spec.env}\`): ${e.message}`),
      );
      throw err;
    }
  });
}

async function bringUp(
  ctx: LabContext,
  state: LabState,
  plan: LabPlan,
  opts: LabUpOptions,
  created: string[],
): Promise<LabUpResult> {
  const wanted = new Map(plan.nodes.map((n) => [n.name, n]));
  const keep = Object.values(state.nodes).filter((r) => wanted.get(r.name)?.address === r.address && nodeHealthy(r));
  const keepNames = new Set(keep.map((r) => r.name));
  // A wanted node at the same address that is down boots again from its tree; a node whose address
  // changed is rebuilt; a node gone from the inventory is removed (unless prune is off).
  const reboot = Object.values(state.nodes).filter(
    (r) => !keepNames.has(r.name) && wanted.get(r.name)?.address === r.address,
  );
  const rebootNames = new Set(reboot.map((r) => r.name));
  const stale = Object.values(state.nodes).filter(
    (r) => !keepNames.has(r.name) && !rebootNames.has(r.name) && (wanted.has(r.name) || opts.prune !== false),
  );
  const toCreate = plan.nodes.filter((n) => !keepNames.has(n.name));
  const gone = stale.filter((r) => !wanted.has(r.name));
  ctx.progress(
    `lab ${ctx.env}: ${keep.length} kept, ${reboot.length} to restart, ${toCreate.length - reboot.length} to create, ${gone.length} to remove`,
  );

  if (!state.sysctlHeld) {
    state.sysctlHeld = true; // recorded first: a crash right after still releases it on down
    writeState(ctx.labDir, state);
    await holdSysctls(ctx.labDir);
  }
  // Check and claim the subnet under a machine-wide lock: two labs starting at once with the same
  // subnet would both pass a check made without it.
  mkdirSync(SYSCTL_DIR, { recursive: true, mode: 0o700 });
  await withLock(
    join(SYSCTL_DIR, "net.lock"),
    async () => {
      await checkHostClashes(plan, state.bridge?.name === plan.bridge);
      await ensureBridge(ctx, state, plan);
      // Re-attach kept nodes: a bridge deleted and created again has lost its ports.
      if (keep.length > 0)
        await run(["ip", "-batch", "-"], {
          input: keep.map((r) => `link set ${r.veth} master ${plan.bridge} up\n`).join(""),
        });
    },
    30_000,
    (pid) => {
      throw new RefusedError(
        `another lab command (pid ${pid}) has held the machine's lab network lock for 30 s; run this again once it ends`,
      );
    },
  );
  const left = [...(await removeNodes(ctx, state, stale)), ...(await removeNodes(ctx, state, reboot, true))];
  if (left.length > 0)
    throw new OperationFailedError(
      `could not clear stopped or stale nodes (run lab up again; yagura lab down ${ctx.env} removes everything):\n  ${left.join("\n  ")}`,
    );
  writeScripts(ctx);
  const operatorPublicKey = await ensureOperatorKey(ctx.paths.sshKey, `yagura-lab-${ctx.env}`);
  let pauseImage: string | undefined;
  let pauseImageNote = opts.pauseImage === false ? "not requested" : pauseUnavailable();
  if (!pauseImageNote && toCreate.length > 0) {
    try {
      pauseImage = await buildPauseImage(ctx.imagesDir);
    } catch (err) {
      pauseImageNote = `could not build it: ${(err as Error).message.split("\n")[0]}`;
    }
  }
  if (pauseImageNote && toCreate.length > 0) ctx.progress(`  pause image skipped: ${pauseImageNote}`);
  const groupDirs = ensureGroupDirs(ctx.names.cgroupGroup);
  state.cgroupGroups = [...new Set([...state.cgroupGroups, ...groupDirs])];
  writeState(ctx.labDir, state);

  // Each node serves the host key yagura issued for it, as a server the stack creates does.
  const hostKeys = ensureHostKeys(
    ctx.paths.pkiDir,
    toCreate.map((n) => n.name),
  );
  const nctx: NodeContext = {
    bridge: plan.bridge,
    prefix: plan.prefix,
    binDir: ctx.binDir,
    hideDir: ctx.root,
    groupDirs,
    operatorPublicKey,
    hostKey: (node) => hostKeys.get(node)!,
    pauseImage,
    save: () => writeState(ctx.labDir, state),
    mountTag: (node) => `yagura-lab-${ctx.names.tag}-${node}`,
  };
  await mapLimit(toCreate, opts.concurrency ?? 4, async (n) => {
    const rec: NodeRecord = state.nodes[n.name] ?? {
      name: n.name,
      address: n.address,
      netns: ctx.names.netns(n.name),
      veth: ctx.names.veth(n.name),
      mac: ctx.names.mac(n.name),
      dir: join(ctx.nodesDir, n.name),
      cgroups: [],
    };
    state.nodes[n.name] = rec;
    if (!rebootNames.has(n.name)) created.push(n.name);
    writeState(ctx.labDir, state);
    await createNode(nctx, rec);
  });
  // Settle every wait before acting on a failure, so no late write lands after a cleanup. A node
  // still booting is waited for (hundreds mount at once); one that died stops the others' waits.
  const bootLimitMs = 120_000 + 2_000 * toCreate.length;
  const giveUp = new AbortController();
  let firstFailure: { reason: unknown } | undefined; // the cause, not a wait it abandoned
  const booted = await Promise.allSettled(
    toCreate.map(async (n) => {
      const rec = state.nodes[n.name]!;
      try {
        await awaitPid1(rec, nctx.save, bootLimitMs, giveUp.signal);
      } catch (err) {
        if (!giveUp.signal.aborted) firstFailure = { reason: err };
        giveUp.abort();
        throw err;
      }
      ctx.progress(
        `  ${n.name.padEnd(12)} ${n.address.padEnd(15)} ${rebootNames.has(n.name) ? "restarted" : "started"} (pid ${rec.pid1})`,
      );
    }),
  );
  const failed = firstFailure ?? booted.find((b) => b.status === "rejected");
  if (failed) throw failed.reason;
  writeSshFiles(
    ctx,
    state,
    stale.map((r) => r.address),
  );

  if (opts.waitForSsh !== false) {
    const stray = (
      await Promise.all(
        plan.nodes.map(async (n) => ((await routedViaBridge(n.address, plan.bridge)) ? [] : [n.address])),
      )
    ).flat();
    if (stray.length > 0)
      throw new OperationFailedError(
        `the host does not route ${stray.join(", ")} through bridge ${plan.bridge}; check \`ip route get ${stray[0]}\``,
      );
    await awaitSshd(
      plan.nodes.map((n) => ({ ...state.nodes[n.name]!, pid1: state.nodes[n.name]!.pid1! })),
      { env: ctx.env, limitMs: 180_000 + 1_000 * plan.nodes.length, progress: ctx.progress },
    );
    ctx.progress(`lab ${ctx.env}: ${plan.nodes.length} node(s) answer ssh`);
  }
  return {
    created: toCreate.filter((n) => !rebootNames.has(n.name)).map((n) => n.name),
    restarted: [...rebootNames],
    kept: keep.map((r) => r.name),
    removed: gone.map((r) => r.name),
    nodes: plan.nodes.map((n) => ({ name: n.name, address: n.address, pid1: state.nodes[n.name]!.pid1! })),
    sshKey: ctx.paths.sshKey,
    knownHosts: ctx.paths.knownHosts,
    sshConfig: ctx.sshConfig,
    pauseImageNote,
  };
}
