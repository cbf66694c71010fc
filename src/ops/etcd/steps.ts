/** The etcd steps the ops are made of; each checks before it acts, so re-running one is harmless. */
import { posix } from "node:path";
import { OperationFailedError } from "../../cli/errors.js";
import { shq } from "../../infra/shell.js";
import type { EtcdAdmin } from "../../infra/types.js";
import { fingerprintPath } from "../../supervisor/fingerprint.js";
import type { Supervisor } from "../../supervisor/types.js";
import type { OpContext } from "../types.js";
import { ETCD } from "./layout.js";

/** Starts etcd under the node's supervisor, then records the fingerprint it now runs with. */
export async function startEtcd(ctx: OpContext, node: string, sup: Supervisor, fingerprint: string): Promise<void> {
  await ctx.shell.run(node, "sh -s", {
    stdin: `set -e\nmkdir -p ${shq(ETCD.dataDir)}\nchmod 700 ${shq(ETCD.dataDir)}\n${sup.startScript(ETCD.component)}`,
  });
  await recordFingerprint(ctx, node, fingerprint);
}

/**
 * Starts a stopped member that should still hold its data, refusing in the same round trip when
 * the data is gone: etcd would otherwise rejoin under the old member id with an empty log, which
 * Raft's safety assumes never happens. The next pass sees the wiped member and replaces it.
 */
export async function startExistingEtcd(
  ctx: OpContext,
  node: string,
  sup: Supervisor,
  fingerprint: string,
): Promise<void> {
  await ctx.shell.run(node, "sh -s", {
    stdin:
      `set -e\nif [ ! -d ${shq(ETCD.memberDir)} ]; then ` +
      `echo ${shq(`${ETCD.memberDir} is gone since this pass observed it: not starting etcd on ${node} (the next pass removes and re-adds the member)`)} >&2; exit 3; fi\n` +
      sup.startScript(ETCD.component),
  });
  await recordFingerprint(ctx, node, fingerprint);
}

/** Restarts etcd and records the new fingerprint. */
export async function restartEtcd(ctx: OpContext, node: string, sup: Supervisor, fingerprint: string): Promise<void> {
  await ctx.shell.run(node, "sh -s", { stdin: sup.restartScript(ETCD.component) });
  await recordFingerprint(ctx, node, fingerprint);
}

/** Writes the bootstrap env file (initial-cluster settings for etcd's first start). */
export async function writeBootstrapEnv(ctx: OpContext, node: string, content: string): Promise<void> {
  await ctx.shell.run(node, `mkdir -p ${shq(posix.dirname(ETCD.envFile))}`);
  await ctx.shell.upload(node, ETCD.envFile, content, { mode: 0o644 });
}

/** Writes the fingerprint file next to the component. */
export async function recordFingerprint(ctx: OpContext, node: string, fingerprint: string): Promise<void> {
  const path = fingerprintPath(ETCD.component);
  await ctx.shell.run(node, `mkdir -p ${shq(posix.dirname(path))}`);
  await ctx.shell.upload(node, path, fingerprint + "\n", { mode: 0o644 });
}

/** Stops etcd, forgets its fingerprint and moves a data dir aside (kept for forensics, never deleted). */
export async function stopAndSetAside(ctx: OpContext, node: string, sup: Supervisor, suffix: string): Promise<void> {
  const aside = `${ETCD.memberDir}.removed-${suffix}`;
  await ctx.shell.run(node, "sh -s", {
    stdin: [
      sup.stopScript(ETCD.component),
      `rm -f ${shq(fingerprintPath(ETCD.component))}`,
      `if [ -d ${shq(ETCD.memberDir)} ]; then mv ${shq(ETCD.memberDir)} ${shq(aside)}; fi`,
    ].join("\n"),
  });
}

/** Polls until `check` returns true, or throws after `timeoutMs` with the last reason. */
export async function pollUntil(
  ctx: OpContext,
  what: string,
  timeoutMs: number,
  check: () => Promise<true | string>,
): Promise<void> {
  const deadline = ctx.now().getTime() + timeoutMs;
  let last = "";
  for (;;) {
    try {
      const r = await check();
      if (r === true) return;
      last = r;
    } catch (err) {
      last = (err as Error).message;
    }
    if (ctx.now().getTime() >= deadline)
      throw new OperationFailedError(`${what}: not reached within ${timeoutMs / 1000} s (${last})`);
    await ctx.sleep(500);
  }
}

/** Runs `fn` with an admin client on the endpoints, closing it afterwards. */
export async function withAdmin<T>(
  ctx: OpContext,
  endpoints: readonly string[],
  fn: (a: EtcdAdmin) => Promise<T>,
): Promise<T> {
  const admin = ctx.etcdAdmin(endpoints);
  try {
    return await fn(admin);
  } finally {
    await admin.close().catch(() => undefined);
  }
}

/** True when a leader exists and a quorum of the voting members answers. */
export async function clusterHealthy(admin: EtcdAdmin, endpoints: readonly string[]): Promise<true | string> {
  const members = await admin.members();
  const voting = members.filter((m) => !m.isLearner);
  const statuses = await Promise.all(endpoints.map((e) => admin.endpointStatus(e)));
  const healthy = statuses.filter((s) => s.healthy);
  const leader = healthy.find((s) => s.leaderId && s.leaderId !== "0");
  if (!leader) return "no leader yet";
  const need = Math.floor(voting.length / 2) + 1;
  return healthy.length >= need ? true : `${healthy.length}/${voting.length} members healthy`;
}
