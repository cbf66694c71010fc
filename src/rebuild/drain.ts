/**
 * Drain and uncordon through the Kubernetes API, as `kubectl drain` does: cordon, then evict every
 * pod on the node through the Eviction API (so PodDisruptionBudgets apply) until none is left,
 * skipping DaemonSet pods (their controller ignores cordons) and mirror pods (the kubelet owns
 * them) and finished pods. A pod a budget keeps is retried until the timeout; then the drain fails
 * with every pod still blocking and why. On a node whose kubelet has stopped reporting (Ready
 * Unknown: the machine is down, often why it is replaced) nobody will ever finish an accepted
 * eviction, so the drain does not wait for those pods to vanish, as `kubectl drain
 * --skip-wait-for-delete-timeout` would not. Uncordon waits until the node is Ready again, so a
 * replaced node that never came back is not made schedulable and the apply stops saying so.
 */
import { KubeApiError, type KubeApi, type KubeNode, type KubePod } from "../infra/kube-types.js";

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
  /** Evicted pods on a node whose kubelet is down: accepted, but nobody will confirm them gone. */
  readonly unconfirmed: readonly string[];
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

/** A kubelet that stopped reporting: the node lifecycle controller set Ready to Unknown (or it never reported). */
const kubeletDown = (n: KubeNode | undefined) => n !== undefined && (n.conditions["Ready"] ?? "Unknown") === "Unknown";

/** Cordons `nodes` and evicts their pods; throws DrainTimeoutError naming what blocks. */
export async function drainNodes(kube: KubeApi, nodes: readonly string[], o: DrainOptions): Promise<DrainReport> {
  for (const n of nodes) await kube.cordon(n, true);
  const deadline = o.now().getTime() + o.timeoutMs;
  const evicted = new Set<string>();
  const left = new Set<string>();
  const unconfirmed = new Set<string>();
  for (;;) {
    const blocking: string[] = [];
    const byName = new Map((await kube.listNodes()).map((n) => [n.name, n]));
    for (const n of nodes) {
      const down = kubeletDown(byName.get(n));
      for (const p of await kube.listPods({ fieldSelector: `spec.nodeName=${n}` })) {
        const why = leftAlone(p);
        if (why) {
          left.add(`${key(p)} (${why})`);
          continue;
        }
        const r = await kube.evict(p.namespace, p.name);
        if (r !== "evicted" && r !== "gone") {
          blocking.push(`${key(p)} on ${n}: ${r.blocked}`);
          continue;
        }
        // An evicted pod may still be terminating: the next round lists it again until it is gone,
        // unless its kubelet is down and will never confirm it.
        evicted.add(key(p));
        if (down && r === "evicted") unconfirmed.add(key(p));
      }
    }
    if (blocking.length === 0 && (await remaining(kube, nodes, unconfirmed)) === 0)
      return { evicted: [...evicted], left: [...left], unconfirmed: [...unconfirmed] };
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

/** Pods still on the nodes that a drain must move (an eviction no kubelet will confirm counts as moved). */
async function remaining(kube: KubeApi, nodes: readonly string[], unconfirmed: ReadonlySet<string>): Promise<number> {
  let n = 0;
  for (const node of nodes)
    n += (await kube.listPods({ fieldSelector: `spec.nodeName=${node}` })).filter(
      (p) => !leftAlone(p) && !unconfirmed.has(key(p)),
    ).length;
  return n;
}

/** Uncordon that ran out of time waiting for nodes to be Ready; `notReady` names each with its Ready status. */
export class NodesNotReadyError extends Error {
  override readonly name = "NodesNotReadyError";
  constructor(
    message: string,
    readonly notReady: readonly string[],
  ) {
    super(message);
  }
}

/**
 * Makes each node schedulable again once it reports Ready (a rebuilt node's kubelet must be back
 * first); the API may be briefly away while its own node is rebuilt, so call failures are retried
 * until the timeout. Throws NodesNotReadyError naming the nodes left cordoned.
 */
export async function uncordonNodes(kube: KubeApi, nodes: readonly string[], o: DrainOptions): Promise<void> {
  const deadline = o.now().getTime() + o.timeoutMs;
  const waiting = new Set(nodes);
  let last = new Map<string, string>();
  for (;;) {
    try {
      const byName = new Map((await kube.listNodes()).map((n) => [n.name, n]));
      last = new Map([...waiting].map((n) => [n, byName.get(n)?.conditions["Ready"] ?? "not registered"]));
      for (const n of waiting) {
        if (last.get(n) !== "True") continue;
        await kube.cordon(n, false);
        waiting.delete(n);
      }
      if (waiting.size === 0) return;
    } catch (err) {
      if (!(err instanceof KubeApiError)) throw err;
      last = new Map([...waiting].map((n) => [n, `unknown (${err.message})`]));
    }
    if (o.now().getTime() >= deadline) {
      const notReady = [...waiting].map((n) => `${n}: Ready ${last.get(n) ?? "unknown"}`);
      throw new NodesNotReadyError(
        `${[...waiting].join(", ")} did not become Ready within ${Math.round(o.timeoutMs / 1000)} s, so they stay cordoned (${notReady.join("; ")}). ` +
          `Look at each node's kubelet (/var/log/kubelet under runit, \`journalctl -u kubelet\` under systemd) and at \`yagura status\`, then apply again`,
        notReady,
      );
    }
    await o.sleep(o.pollMs ?? 2000);
  }
}
