/**
 * observe(): every node in parallel, one SSH round trip each, then etcd through the admin
 * client. An unreachable node (timeout, refused, changed host key) becomes a status with the
 * reason; observe itself only fails on a bug.
 */
import { backupDir, localSnapshotStore, parseSnapshotName } from "../backup/store.js";
import type { BackupStatus, ClusterStatus, NodeStatus } from "../cluster/status.js";
import { unreachableNode } from "../cluster/status.js";
import { controlPlane, type ClusterSpec, type NodeSpec } from "../cluster/spec.js";
import { UserError } from "../cli/errors.js";
import type { KubeApi } from "../infra/kube-types.js";
import { HostKeyMismatchError, type EtcdAdmin, type NodeShell } from "../infra/types.js";
import { observedPaths, type Desired } from "../ops/etcd/desired.js";
import { clientURL, ETCD } from "../ops/etcd/layout.js";
import { prerequisitesFor } from "../ops/node/prerequisites.js";
import { supervisorFor } from "../supervisor/index.js";
import { parseObservation } from "./parse.js";
import { observeScript, type ObservePlan } from "./script.js";
import { observeEtcd } from "./etcd.js";
import { kubeObservePlan, observeKube } from "./kube.js";
import { k8sObservedPaths } from "../k8s/desired.js";
import { healthProbes, KUBE_PROXY_MODE_URL } from "./probes.js";

/** What observe talks to. */
export interface ObserveContext {
  readonly shell: NodeShell;
  etcdAdmin(endpoints: readonly string[]): EtcdAdmin;
  /** The Kubernetes API; when absent, `status.kube` stays absent. */
  readonly kube?: KubeApi;
}

/**
 * The plan for one node: prerequisites, managed files and components; with Kubernetes material
 * (scope all) also its binaries, the kubelet's boot gate and the loopback health probes.
 */
export function observePlan(node: NodeSpec, desired: Desired): ObservePlan {
  const k = desired.k8s?.nodes[node.name];
  const base: ObservePlan = {
    prerequisites: [...prerequisitesFor(node), ...(k?.prerequisites ?? [])],
    files: [...observedPaths(desired, node.name), ...k8sObservedPaths(desired.k8s, node.name)],
    components: [
      ...(node.role === "control-plane" ? [ETCD.component] : []),
      ...(k ? [k.runtime.name, ...k.components.map((c) => c.name)] : []),
    ],
    supervisor: supervisorFor(node),
    etcdDataDir: ETCD.dataDir,
  };
  if (!k) return base;
  return {
    ...base,
    artifacts: k.artifacts,
    bootGate: true,
    probes: healthProbes(node),
    ...(k.bridgeNetwork ? { routes: true } : {}),
    ...(k.components.some((c) => c.name === "kube-proxy") ? { proxyModeUrl: KUBE_PROXY_MODE_URL } : {}),
  };
}

/** How an observation failed on a host key starts (the CLI refuses such a run). */
export const HOST_KEY_MISMATCH = "host key mismatch";

/** Observes one node in one round trip. */
export async function observeNode(shell: NodeShell, node: NodeSpec, desired: Desired): Promise<NodeStatus> {
  const plan = observePlan(node, desired);
  try {
    const r = await shell.exec(node.name, "sh -s", { stdin: observeScript(plan), repeatable: true });
    if (r.code !== 0)
      return unreachableNode(node.name, `observe script exited ${r.code}: ${r.stderr.trim().slice(0, 300)}`);
    return parseObservation(node.name, plan, r.stdout.trim());
  } catch (err) {
    // A mistake on this machine (the operator key missing, an unreadable known_hosts) is no
    // node's state: it stops the run, naming the file, instead of being waited out as a silent node.
    if (err instanceof UserError) throw err;
    const e = err as Error;
    const why =
      e instanceof HostKeyMismatchError || e.name === "HostKeyMismatchError"
        ? `${HOST_KEY_MISMATCH}: ${e.message}`
        : e.message;
    return unreachableNode(node.name, why);
  }
}

/** Observes the whole cluster. */
export async function observe(spec: ClusterSpec, desired: Desired, ctx: ObserveContext): Promise<ClusterStatus> {
  const statuses = await Promise.all(spec.nodes.map((n) => observeNode(ctx.shell, n, desired)));
  const nodes: Record<string, NodeStatus> = {};
  for (const s of statuses) nodes[s.name] = s;
  const endpoints = controlPlane(spec)
    .filter((n) => nodes[n.name]?.reachable)
    .map((n) => clientURL(n));
  const [etcd, backup, kube] = await Promise.all([
    observeEtcd((e) => ctx.etcdAdmin(e), endpoints),
    observeBackup(spec),
    ctx.kube ? observeKube(ctx.kube, kubeObservePlan(spec, desired)) : undefined,
  ]);
  return { nodes, etcd, backup, ...(kube ? { kube } : {}) };
}

/** The newest snapshot in the environment's local store (a directory listing; nothing is read over the network). */
export async function observeBackup(spec: ClusterSpec, stateRoot?: string): Promise<BackupStatus> {
  try {
    const newest = (await localSnapshotStore(backupDir(spec, stateRoot), spec.env).list())[0];
    if (!newest) return {};
    // A .db without its sidecar still counts; its name carries the time.
    const stamp = parseSnapshotName(newest.name)!.stamp.replace(
      /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/,
      "$1-$2-$3T$4:$5:$6Z",
    );
    return { lastTakenAt: newest.meta?.takenAt ?? new Date(stamp).toISOString() };
  } catch (err) {
    return { error: `cannot list the snapshots of ${spec.env}: ${(err as Error).message}` };
  }
}
