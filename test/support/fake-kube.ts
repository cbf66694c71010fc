/**
 * An in-memory KubeApi for unit tests of pure logic (observe, ops, rungs). It keeps objects,
 * Nodes (as Node objects) and pods; server-side apply merges like the API server for the cases
 * the reconciler relies on: maps merge key by key, lists are replaced whole, and a field the
 * `yagura` manager applied before but leaves out now is removed (fields others set stay).
 * resourceVersion grows on every write, so guarded writes can conflict. Failures are injected
 * with `failNext`. Not modelled: conflicts between managers, list merge keys, watches.
 */
import type { Taint } from "../../src/inventory/schema.js";
import {
  KubeApiError,
  type EvictionResult,
  type KubeApi,
  type KubeObject,
  type KubeObjectRef,
  type KubePod,
} from "../../src/infra/kube-types.js";
import { toKubeNode } from "../../src/infra/kube-views.js";
import type { Op, OpContext } from "../../src/ops/types.js";

type Json = Record<string, unknown>;
type Method = keyof KubeApi;

/** One write the fake saw, for assertions ("the unchanged object was not re-sent"). */
export interface FakeKubeCall {
  readonly method: Method;
  /** `apiVersion/kind/namespace/name` for object calls, the node or pod name otherwise. */
  readonly key: string;
  readonly body?: unknown;
}

/** Options of a Node added with `addNode`. */
export interface FakeNodeInit {
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
  readonly taints?: readonly Taint[];
  readonly ready?: boolean;
  readonly unschedulable?: boolean;
  readonly providerID?: string;
}

/** The fake, with its state open for arrangement and assertions. */
export interface FakeKube extends KubeApi {
  /** Every object by `apiVersion/kind/namespace/name` (Nodes included). */
  readonly objects: Map<string, KubeObject>;
  readonly pods: KubePod[];
  /** Every call that changed (or tried to change) something, in order. */
  readonly calls: FakeKubeCall[];
  /** What readyz answers; `down` makes every call fail as a refused connection would. */
  health: { ok: boolean; body: string; down?: string };
  /** Pods whose eviction a PodDisruptionBudget blocks (`namespace/name` → message). */
  readonly blockedEvictions: Map<string, string>;
  /** The next call of `method` throws `err` (once). */
  failNext(method: Method, err: KubeApiError): void;
  /** Adds or replaces a Node object as the kubelet would register it (not owned by yagura). */
  addNode(name: string, init?: FakeNodeInit): KubeObject;
  /** Stores an object as another writer would (not owned by yagura). */
  put(obj: KubeObject): KubeObject;
  /** The stored object's current state, or undefined. */
  peek(ref: KubeObjectRef): KubeObject | undefined;
}

/** `apiVersion/kind/namespace/name` (namespace empty for cluster-scoped kinds). */
export function objectKey(ref: KubeObjectRef): string {
  return `${ref.apiVersion}/${ref.kind}/${ref.namespace ?? ""}/${ref.name}`;
}

const clone = <T>(v: T): T => structuredClone(v);
const isMap = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Leaf paths of an applied object (lists are atomic leaves, as the fake replaces them whole). An
 * empty map owns nothing: applying `labels: {}` must not wipe labels others set.
 */
function leafPaths(v: unknown, prefix: string[] = [], out: string[][] = []): string[][] {
  if (isMap(v)) {
    for (const [k, c] of Object.entries(v)) leafPaths(c, [...prefix, k], out);
  } else out.push(prefix);
  return out;
}

function mergeInto(target: Json, src: Json): void {
  for (const [k, v] of Object.entries(src)) {
    if (isMap(v) && isMap(target[k])) mergeInto(target[k] as Json, v);
    else target[k] = clone(v);
  }
}

function removePath(obj: Json, path: readonly string[]): void {
  const parents: Json[] = [obj];
  for (const k of path.slice(0, -1)) {
    const next = parents[parents.length - 1]![k];
    if (!isMap(next)) return;
    parents.push(next);
  }
  delete parents[parents.length - 1]![path[path.length - 1]!];
  // Drop maps the removal left empty, as the API server does for an emptied owned map.
  for (let i = parents.length - 1; i > 0; i--) {
    if (Object.keys(parents[i]!).length === 0) delete parents[i - 1]![path[i - 1]!];
  }
}

function matchesSelector(labels: Readonly<Record<string, string>>, selector?: string): boolean {
  if (!selector) return true;
  return selector.split(",").every((term) => {
    const [k, v] = term.split("=") as [string, string | undefined];
    if (v === undefined) throw new Error(`fake-kube: selector term "${term}" is not modelled by the fake`);
    return labels[k.trim()] === v.trim();
  });
}

/** A fresh fake with a ready API and nothing in it. */
export function fakeKube(): FakeKube {
  const objects = new Map<string, KubeObject>();
  const owned = new Map<string, string[][]>();
  const pods: KubePod[] = [];
  const calls: FakeKubeCall[] = [];
  const failures = new Map<Method, KubeApiError>();
  const blockedEvictions = new Map<string, string>();
  let rv = 100;

  const gate = (method: Method) => {
    if (fake.health.down) throw new KubeApiError(`${method}: ${fake.health.down}`);
    const f = failures.get(method);
    if (f) {
      failures.delete(method);
      throw f;
    }
  };
  const store = (key: string, obj: Json): KubeObject => {
    const meta = obj["metadata"] as Json;
    meta["resourceVersion"] = String(++rv);
    objects.set(key, obj as unknown as KubeObject);
    return clone(obj) as unknown as KubeObject;
  };
  const nodeRef = (name: string): KubeObjectRef => ({ apiVersion: "v1", kind: "Node", name });
  const mustNode = (name: string, call: string): Json => {
    const n = objects.get(objectKey(nodeRef(name)));
    if (!n) throw new KubeApiError(`${call}: node "${name}" not found`, 404, "NotFound");
    return n as unknown as Json;
  };

  const fake: FakeKube = {
    objects,
    pods,
    calls,
    health: { ok: true, body: "ok" },
    blockedEvictions,
    failNext: (method, err) => void failures.set(method, err),
    addNode(name, init = {}) {
      const obj: Json = {
        apiVersion: "v1",
        kind: "Node",
        metadata: { name, labels: { ...(init.labels ?? {}) }, annotations: { ...(init.annotations ?? {}) } },
        spec: {
          ...(init.taints?.length ? { taints: clone(init.taints) } : {}),
          ...(init.unschedulable ? { unschedulable: true } : {}),
          ...(init.providerID ? { providerID: init.providerID } : {}),
        },
        status: { conditions: [{ type: "Ready", status: init.ready === false ? "False" : "True" }] },
      };
      return store(objectKey(nodeRef(name)), obj);
    },
    put(obj) {
      return store(objectKey({ ...obj, name: obj.metadata.name, namespace: obj.metadata.namespace }), clone(obj));
    },
    peek(ref) {
      const o = objects.get(objectKey(ref));
      return o ? clone(o) : undefined;
    },

    async readyz() {
      gate("readyz");
      return { ok: fake.health.ok, body: fake.health.body };
    },
    async get(ref) {
      gate("get");
      return fake.peek(ref);
    },
    async list(apiVersion, kind, o = {}) {
      gate("list");
      return [...objects.values()]
        .filter((x) => x.apiVersion === apiVersion && x.kind === kind)
        .filter((x) => o.namespace === undefined || x.metadata.namespace === o.namespace)
        .filter((x) => matchesSelector(x.metadata.labels ?? {}, o.labelSelector))
        .map(clone);
    },
    async apply(obj) {
      const key = objectKey({ ...obj, name: obj.metadata.name, namespace: obj.metadata.namespace });
      calls.push({ method: "apply", key, body: clone(obj) });
      gate("apply");
      const current = clone((objects.get(key) ?? { apiVersion: obj.apiVersion, kind: obj.kind, metadata: {} }) as Json);
      const paths = leafPaths(obj);
      const now = new Set(paths.map((p) => p.join("\u0000")));
      for (const p of owned.get(key) ?? []) if (!now.has(p.join("\u0000"))) removePath(current, p);
      mergeInto(current, clone(obj) as unknown as Json);
      owned.set(key, paths);
      return store(key, current);
    },
    async delete(ref) {
      const key = objectKey(ref);
      calls.push({ method: "delete", key });
      gate("delete");
      objects.delete(key);
      owned.delete(key);
    },
    async listNodes() {
      gate("listNodes");
      return [...objects.values()].filter((o) => o.apiVersion === "v1" && o.kind === "Node").map(toKubeNode);
    },
    async setNodeTaints(node, taints, resourceVersion) {
      calls.push({ method: "setNodeTaints", key: node, body: { taints: clone(taints), resourceVersion } });
      gate("setNodeTaints");
      const n = clone(mustNode(node, "setNodeTaints"));
      const meta = n["metadata"] as Json;
      if (resourceVersion !== undefined && meta["resourceVersion"] !== resourceVersion) {
        throw new KubeApiError(
          `setNodeTaints: node "${node}" changed since it was read (resourceVersion ${resourceVersion} → ${String(meta["resourceVersion"])})`,
          409,
          "Conflict",
        );
      }
      (n["spec"] as Json)["taints"] = clone(taints);
      if (taints.length === 0) delete (n["spec"] as Json)["taints"];
      store(objectKey(nodeRef(node)), n);
    },
    async cordon(node, unschedulable) {
      calls.push({ method: "cordon", key: node, body: unschedulable });
      gate("cordon");
      const n = clone(mustNode(node, "cordon"));
      if (unschedulable) (n["spec"] as Json)["unschedulable"] = true;
      else delete (n["spec"] as Json)["unschedulable"];
      store(objectKey(nodeRef(node)), n);
    },
    async listPods(o = {}) {
      gate("listPods");
      return pods
        .filter((p) => o.namespace === undefined || p.namespace === o.namespace)
        .filter((p) => matchesSelector(p.labels, o.labelSelector))
        .filter((p) => {
          if (!o.fieldSelector) return true;
          const m = /^spec\.nodeName=(.*)$/.exec(o.fieldSelector);
          if (!m) throw new Error(`fake-kube: field selector "${o.fieldSelector}" is not modelled by the fake`);
          return p.nodeName === m[1];
        })
        .map(clone);
    },
    async evict(namespace, name): Promise<EvictionResult> {
      calls.push({ method: "evict", key: `${namespace}/${name}` });
      gate("evict");
      const i = pods.findIndex((p) => p.namespace === namespace && p.name === name);
      if (i < 0) return "gone";
      const blocked = blockedEvictions.get(`${namespace}/${name}`);
      if (blocked) return { blocked };
      pods.splice(i, 1);
      return "evicted";
    },
    async close() {},
  };
  return fake;
}

/**
 * Runs every command of an API op against `kube` and returns how many ran. Sleeping advances a
 * fake clock, so bounded waits reach their deadline at once; ops asking for SSH or etcd fail.
 */
export async function runOp(op: Op, kube: KubeApi): Promise<number> {
  let t = 0;
  const ctx: OpContext = {
    kube,
    sleep: async (ms: number) => void (t += ms),
    now: () => new Date(t),
    get shell(): never {
      throw new Error("not modelled by the fake: an API op asked for SSH");
    },
    etcdAdmin: () => {
      throw new Error("not modelled by the fake: an API op asked for etcd");
    },
  };
  let n = 0;
  for (let c = op.nextCommand(); c; c = op.nextCommand(), n++) await c.run(ctx);
  return n;
}
