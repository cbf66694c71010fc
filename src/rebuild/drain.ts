/**
 * Drain and uncordon through the Kubernetes API, as `kubectl drain` does: cordon, then evict every
 * pod on the node through the Eviction API (so PodDisruptionBudgets apply) until none is left,
 * skipping DaemonSet pods (their controller ignores cordons) and mirror pods (the kubelet owns
 * them) and finished pods. A pod a budget keeps is retried until the timeout; then the drain fails
 * with every pod still blocking and why.
 */
import type { KubeApi, KubePod } from "../infra/kube-types.js";

/** Timing of a drain; injected so tests do not sleep. */
export interface DrainOptions {
  readonly timeoutMs: number;
  readonly pollMs?: number;
  sleep(ms: number): Promise<void>;
  now(): Date;
}

/** What a drain did. */
export interface DrainReport {
  readonly evicted: readonly string[];
  /** DaemonSet, mirror and finished pods left in place. */
  readonly left: readonly string[];
}

/** A drain that ran out of time; `blocking` names each pod and what keeps it. */
export class DrainTimeoutError extends Error {
  override readonly name = "DrainTimeoutError";
  constructor(
    message: string,
    readonly blocking: readonly string[],
  ) {
    super(message);
  }
}

const key = (p: KubePod) => `${p.namespace}/${p.name}`;

/** Pods a drain leaves alone, with why. */
function leftAlone(p: KubePod): string | undefined {
  if (p.owner?.kind === "DaemonSet") return "DaemonSet";
  if (p.owner?.kind === "Node") return "mirror pod";
  if (p.phase === "Succeeded" || p.phase === "Failed") return p.phase;
  return undefined;
}

/** Cordons `nodes` and evicts their pods; throws DrainTimeoutError naming what blocks. */
export async function drainNodes(kube: KubeApi, nodes: readonly string[], o: DrainOptions): Promise<DrainReport> {
  for (const n of nodes) await kube.cordon(n, true);
  const deadline = o.now().getTime() + o.timeoutMs;
  const evicted = new Set<string>();
  const left = new Set<string>();
  for (;;) {
    const blocking: string[] = [];
    for (const n of nodes) {
      for (const p of await kube.listPods({ fieldSelector: `spec.nodeName=${n}` })) {
        const why = leftAlone(p);
        if (why) {
          left.add(`${key(p)} (${why})`);
          continue;
        }
        const r = await kube.evict(p.namespace, p.name);
        if (r === "evicted") evicted.add(key(p));
        else if (r !== "gone") blocking.push(`${key(p)} on ${n}: ${r.blocked}`);
        // An evicted pod may still be terminating: the next round lists it again until it is gone.
        else evicted.add(key(p));
      }
    }
    if (blocking.length === 0 && (await remaining(kube, nodes)) === 0)
      return { evicted: [...evicted], left: [...left] };
    if (o.now().getTime() >= deadline) {
      throw new DrainTimeoutError(
        `drain of ${nodes.join(", ")} did not finish within ${Math.round(o.timeoutMs / 1000)} s; blocking: ${blocking.join("; ") || "pods still terminating"}. ` +
          `Fix what blocks (a PodDisruptionBudget with no room, a pod without a controller to reschedule it) or raise --drain-timeout, then apply again`,
        blocking,
      );
    }
    await o.sleep(o.pollMs ?? 2000);
  }
}

/** Pods still on the nodes that a drain must move. */
async function remaining(kube: KubeApi, nodes: readonly string[]): Promise<number> {
  let n = 0;
  for (const node of nodes)
    n += (await kube.listPods({ fieldSelector: `spec.nodeName=${node}` })).filter((p) => !leftAlone(p)).length;
  return n;
}

/** Makes the nodes schedulable again. */
export async function uncordonNodes(kube: KubeApi, nodes: readonly string[]): Promise<void> {
  for (const n of nodes) await kube.cordon(n, false);
}
