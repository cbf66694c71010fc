/**
 * Restoring etcd from a snapshot onto every control-plane node, as a runbook:
 *   1. stop etcd on every member (a restore replaces the whole cluster, so no member may run)
 *   2. move each data dir aside (member → member.pre-restore-<stamp>; never deleted)
 *   3. upload the snapshot (0600) and run `etcdctl snapshot restore` per member with its name,
 *      peer URL, the full initial cluster and a fresh cluster token, into a temp dir beside the
 *      data dir (etcd 3.4 refuses an existing --data-dir), then move it into place
 *   4. start etcd on every member at once and wait until all are healthy with one leader
 * Everything else (certificates, service files, later rungs) is the next reconcile's job.
 */
import { posix } from "node:path";
import type { NodeSpec } from "../cluster/spec.js";
import { OperationFailedError } from "../cli/errors.js";
import { cmd } from "../infra/shell.js";
import type { EtcdAdmin, EtcdEndpointStatus, NodeShell } from "../infra/types.js";
import { clientURL, ETCD, peerURL } from "../ops/etcd/layout.js";
import { supervisorFor } from "../supervisor/index.js";

/** One member of the restored cluster. */
export interface RestoreMember {
  readonly name: string;
  readonly peerURL: string;
}

/** The members of the restored cluster from the spec's control-plane nodes. */
export function restoreMembers(nodes: readonly Pick<NodeSpec, "name" | "address">[]): RestoreMember[] {
  return nodes.map((n) => ({ name: n.name, peerURL: peerURL(n) }));
}

/** `--initial-cluster` value: name=peerURL for every member. */
export function initialCluster(members: readonly RestoreMember[]): string {
  return members.map((m) => `${m.name}=${m.peerURL}`).join(",");
}

/** A fresh cluster token, so the restored cluster gets new member and cluster ids and old peers cannot join it. */
export function restoreToken(env: string, stamp: string, random: string): string {
  return `${env}-restore-${stamp}-${random}`;
}

/** Paths one restore uses on a node; `stamp` makes them unique per restore. */
export function restorePaths(stamp: string) {
  return {
    snapshot: posix.join(ETCD.dataDir, `.restore-${stamp}.db`),
    tempDir: posix.join(ETCD.dataDir, `.restore-${stamp}`),
    aside: `${ETCD.memberDir}.pre-restore-${stamp}`,
  } as const;
}

/** sh that moves the member dir aside (kept for forensics; re-running it is harmless). */
export function setAsideScript(stamp: string): string {
  const p = restorePaths(stamp);
  return cmd`if [ -d ${ETCD.memberDir} ]; then mv ${ETCD.memberDir} ${p.aside} && echo moved; else echo absent; fi`;
}

/** sh that restores the uploaded snapshot as member `self` and puts it where the etcd service looks. */
export function restoreScript(
  self: RestoreMember,
  members: readonly RestoreMember[],
  token: string,
  stamp: string,
): string {
  const p = restorePaths(stamp);
  const d = ETCD.dataDir;
  return [
    "set -e",
    "export ETCDCTL_API=3",
    cmd`if [ -e ${ETCD.memberDir} ]; then echo ${`${ETCD.memberDir} still exists; refusing to restore over it`} >&2; exit 1; fi`,
    cmd`rm -rf ${p.tempDir}`,
    // Its chatty log only matters when it fails: then the tail goes to stderr for the CommandError.
    cmd`out=$(etcdctl snapshot restore ${p.snapshot} --name ${self.name} --initial-cluster ${initialCluster(members)} --initial-cluster-token ${token} --initial-advertise-peer-urls ${self.peerURL} --data-dir ${p.tempDir} 2>&1) || { echo "$out" | tail -n 20 >&2; exit 1; }`,
    cmd`mv ${p.tempDir}/member ${ETCD.memberDir}`,
    cmd`rmdir ${p.tempDir}`,
    cmd`rm -f ${p.snapshot}`,
    // The member dir belongs to whoever owns the data dir (root in the lab, etcd on packaged hosts).
    cmd`chown -R "$(stat -c %u:%g ${d})" ${ETCD.memberDir}`,
    cmd`chmod 700 ${d} ${ETCD.memberDir}`,
  ].join("\n");
}

/** True when fewer than a majority of `voters` answer healthy with a leader (pure). */
export function quorumLost(statuses: readonly EtcdEndpointStatus[], voters: number): boolean {
  const healthy = statuses.filter((s) => s.healthy && s.leaderId && s.leaderId !== "0").length;
  return healthy < Math.floor(voters / 2) + 1;
}

/** What a restore needs. */
export interface RestoreInput {
  readonly env: string;
  /** Every control-plane node: the restored cluster's members. */
  readonly nodes: readonly NodeSpec[];
  readonly snapshot: Buffer;
  readonly stamp: string;
  readonly token: string;
  readonly shell: NodeShell;
  /** An admin client on every member's client URL (used only to wait for health). */
  readonly admin: EtcdAdmin;
  readonly progress: (line: string) => void;
  readonly sleep?: (ms: number) => Promise<void>;
  /** How long to wait for the restored cluster. @default 90000 */
  readonly healthTimeoutMs?: number;
}

/** Runs the restore on every control-plane node; resolves once every member is healthy. */
export async function restoreCluster(i: RestoreInput): Promise<{ ms: number }> {
  const t0 = performance.now();
  const sleep = i.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const members = restoreMembers(i.nodes);
  const each = (what: string, fn: (n: NodeSpec) => Promise<unknown>) =>
    Promise.all(
      i.nodes.map(async (n) => {
        await fn(n);
        i.progress(`  ✓ ${n.name}: ${what}`);
      }),
    );
  const p = restorePaths(i.stamp);

  await each("etcdctl present", (n) =>
    i.shell.run(
      n.name,
      "command -v etcdctl >/dev/null || { echo 'etcdctl not found (install etcd-client)' >&2; exit 1; }",
    ),
  );
  // Apiservers would be stopped here first, so no client writes into a cluster about to be
  // replaced; yagura does not run kube-apiserver yet, so there is nothing to stop.
  await each("etcd stopped", (n) =>
    i.shell.run(n.name, "sh -s", { stdin: supervisorFor(n).stopScript(ETCD.component) }),
  );
  await Promise.all(
    i.nodes.map(async (n) => {
      const r = (await i.shell.run(n.name, setAsideScript(i.stamp))).trim();
      i.progress(`  ✓ ${n.name}: ${r === "moved" ? `data dir set aside as ${p.aside}` : "no data dir to set aside"}`);
    }),
  );
  await each("snapshot uploaded", (n) => i.shell.upload(n.name, p.snapshot, i.snapshot, { mode: 0o600 }));
  await each("snapshot restored", (n) =>
    i.shell.run(n.name, "sh -s", {
      stdin: restoreScript(
        members.find((m) => m.name === n.name)!,
        members,
        i.token,
        i.stamp,
      ),
    }),
  );
  // All at once: a lone restored member waits for its peers before it can elect a leader.
  await each("etcd started", (n) =>
    i.shell.run(n.name, "sh -s", { stdin: supervisorFor(n).startScript(ETCD.component) }),
  );

  const urls = i.nodes.map((n) => clientURL(n));
  const deadline = Date.now() + (i.healthTimeoutMs ?? 90_000);
  let last = "";
  for (;;) {
    const st = await Promise.all(urls.map((u) => i.admin.endpointStatus(u)));
    const leaders = new Set(st.filter((s) => s.healthy).map((s) => s.leaderId));
    if (st.every((s) => s.healthy) && leaders.size === 1) break;
    last = st.map((s, k) => `${i.nodes[k]!.name}: ${s.healthy ? "healthy" : (s.error ?? "unhealthy")}`).join("; ");
    if (Date.now() >= deadline)
      throw new OperationFailedError(
        `restored etcd not healthy within ${(i.healthTimeoutMs ?? 90_000) / 1000} s (${last}); look at each member's log (/var/log/etcd), then restore again`,
      );
    await sleep(500);
  }
  for (const n of i.nodes) i.progress(`  ✓ ${n.name}: healthy`);
  return { ms: performance.now() - t0 };
}
