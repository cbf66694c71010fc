/**
 * The real KubeApi over @kubernetes/client-node (see kube-http.ts for the wire): server-side
 * apply with field manager `yagura`, merge patches for taints (guarded by resourceVersion) and
 * cordon, the Eviction API for drains. Every request has a timeout; every failure is a
 * KubeApiError whose message names the call and the object. The client's PEMs stay in memory.
 */
import { PatchStrategy } from "@kubernetes/client-node";
import { createKubeHttp, describeRef, HttpMethod, type KubeHttp } from "./kube-http.js";
import {
  FIELD_MANAGER,
  KubeApiError,
  type EvictionResult,
  type KubeApi,
  type KubeEndpoint,
  type KubeObject,
  type KubeObjectRef,
} from "./kube-types.js";
import { toKubeNode, toKubePod } from "./kube-views.js";

/** Options of createKubeApi. */
export interface KubeApiOptions {
  /**
   * Bound of each HTTP request (a call makes at most two: discovery, then the request).
   * @default 10000
   */
  readonly timeoutMs?: number;
}

type List = { items?: Record<string, unknown>[] };

const enc = encodeURIComponent;
const parse = <T>(call: string, text: string): T => {
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new KubeApiError(`${call}: the API server answered with something that is not JSON: ${text.slice(0, 200)}`);
  }
};

/** The API reached with yagura's admin client certificate. */
export function createKubeApi(endpoint: KubeEndpoint, o: KubeApiOptions = {}): KubeApi {
  const timeoutMs = o.timeoutMs ?? 10_000;
  const http: KubeHttp = createKubeHttp(endpoint, timeoutMs);
  let closed = false;
  const open = (call: string) => {
    if (closed) throw new KubeApiError(`${call}: the Kubernetes client was closed (a bug in yagura)`);
  };

  const list = async (call: string, path: string, query: Record<string, string | undefined>) => {
    const r = await http.request(call, HttpMethod.GET, path, { query });
    return parse<List>(call, r.text).items ?? [];
  };

  const patchNode = async (call: string, node: string, body: unknown) => {
    await http.request(call, HttpMethod.PATCH, `/api/v1/nodes/${enc(node)}`, {
      body,
      contentType: PatchStrategy.MergePatch,
      query: { fieldManager: FIELD_MANAGER },
    });
  };

  return {
    async readyz() {
      open("readyz");
      const r = await http.request("GET /readyz", HttpMethod.GET, "/readyz", { accept: [500, 503] });
      if (r.status === 200) return { ok: true, body: r.text.trim() };
      // The short answer only says "failed"; the verbose one names the checks that failed.
      const v = await http.request("GET /readyz?verbose", HttpMethod.GET, "/readyz", {
        query: { verbose: "true" },
        accept: [500, 503],
      });
      return { ok: false, body: v.text.trim() };
    },

    async get(ref: KubeObjectRef) {
      const call = `get ${describeRef(ref)}`;
      open(call);
      try {
        const path = await http.path(ref, "read");
        const r = await http.request(call, HttpMethod.GET, path, { accept: [404] });
        return r.status === 404 ? undefined : parse<KubeObject>(call, r.text);
      } catch (err) {
        // A kind the server does not serve yet (its CRD is not there) means the object is not either.
        if (err instanceof KubeApiError && err.status === 404) return undefined;
        throw err;
      }
    },

    async list(apiVersion, kind, lo = {}) {
      const call = `list ${kind}${lo.namespace ? ` in ${lo.namespace}` : ""}`;
      open(call);
      const path = await http.path({ apiVersion, kind, namespace: lo.namespace }, "list");
      const items = await list(call, path, { labelSelector: lo.labelSelector });
      // List items carry no apiVersion/kind of their own.
      return items.map((i) => ({ apiVersion, kind, ...i }) as unknown as KubeObject);
    },

    async apply(obj, ao = {}) {
      const ref = { ...obj, name: obj.metadata.name, namespace: obj.metadata.namespace };
      const call = `apply ${describeRef(ref)}`;
      open(call);
      const path = await http.path(ref, "read");
      const r = await http.request(call, HttpMethod.PATCH, path, {
        body: obj,
        contentType: PatchStrategy.ServerSideApply,
        query: { fieldManager: FIELD_MANAGER, force: ao.force ? "true" : undefined },
      });
      return parse<KubeObject>(call, r.text);
    },

    async delete(ref) {
      const call = `delete ${describeRef(ref)}`;
      open(call);
      let path: string;
      try {
        path = await http.path(ref, "read");
      } catch (err) {
        if (err instanceof KubeApiError && err.status === 404) return;
        throw err;
      }
      await http.request(call, HttpMethod.DELETE, path, {
        accept: [404],
        query: { propagationPolicy: "Background" },
      });
    },

    async listNodes() {
      open("list nodes");
      const items = await list("list nodes", "/api/v1/nodes", {});
      return items.map((i) => toKubeNode({ apiVersion: "v1", kind: "Node", ...i } as unknown as KubeObject));
    },

    async setNodeTaints(node, taints, resourceVersion) {
      const call = `set taints of Node ${node}`;
      open(call);
      // A merge patch replaces the list whole; resourceVersion in it is a precondition (409 if stale),
      // so taints someone added since the caller read the node are never dropped.
      await patchNode(call, node, {
        metadata: resourceVersion === undefined ? undefined : { resourceVersion },
        spec: { taints: taints.length ? taints : null },
      });
    },

    async cordon(node, unschedulable) {
      const call = `${unschedulable ? "cordon" : "uncordon"} Node ${node}`;
      open(call);
      await patchNode(call, node, { spec: { unschedulable: unschedulable ? true : null } });
    },

    async listPods(po = {}) {
      const call = `list pods${po.namespace ? ` in ${po.namespace}` : ""}`;
      open(call);
      const path = po.namespace ? `/api/v1/namespaces/${enc(po.namespace)}/pods` : "/api/v1/pods";
      const items = await list(call, path, { labelSelector: po.labelSelector, fieldSelector: po.fieldSelector });
      return items.map((i) => toKubePod({ apiVersion: "v1", kind: "Pod", ...i } as unknown as KubeObject));
    },

    async evict(namespace, name): Promise<EvictionResult> {
      const call = `evict Pod ${namespace}/${name}`;
      open(call);
      const r = await http.request(
        call,
        HttpMethod.POST,
        `/api/v1/namespaces/${enc(namespace)}/pods/${enc(name)}/eviction`,
        {
          body: { apiVersion: "policy/v1", kind: "Eviction", metadata: { name, namespace } },
          accept: [404, 429],
        },
      );
      if (r.status === 404) return "gone";
      if (r.status === 429) {
        const msg = (() => {
          try {
            return (JSON.parse(r.text) as { message?: string }).message;
          } catch {
            return undefined;
          }
        })();
        return { blocked: msg ?? "a PodDisruptionBudget does not allow the eviction now" };
      }
      return "evicted";
    },

    async close() {
      closed = true;
      http.close();
    },
  };
}
