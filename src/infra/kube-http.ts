/**
 * The wire under KubeApi: requests through @kubernetes/client-node's configuration (its
 * KubeConfig TLS agent, its fetch library, its discovery of resource paths) with raw JSON
 * bodies, a timeout on every request, and every failure turned into a KubeApiError.
 *
 * Bodies stay raw on purpose: the client's typed ObjectSerializer keeps only the fields its
 * models know, so a CRD sent through KubernetesObjectApi.patch loses `x-kubernetes-*` and `$ref`
 * in its schema. Only discovery (APIResourceList, which the models cover) goes through it.
 */
import {
  ApiException,
  createConfiguration,
  HttpMethod,
  IsomorphicFetchHttpLibrary,
  KubeConfig,
  KubernetesObjectApi,
  Observable,
  RequestContext,
  ServerConfiguration,
  type Configuration,
  type KubernetesObject,
  type ObservableMiddleware,
} from "@kubernetes/client-node";
import { Agent } from "node:https";
import { KubeApiError, type KubeEndpoint, type KubeObjectRef } from "./kube-types.js";

/** Options of a request. */
export interface KubeRequest {
  readonly query?: Readonly<Record<string, string | undefined>>;
  readonly body?: unknown;
  readonly contentType?: string;
  /** Statuses that are answers, not errors (404 for a get). */
  readonly accept?: readonly number[];
}

/** What came back. */
export interface KubeResponse {
  readonly status: number;
  readonly text: string;
}

/** Requests and resource paths against one API server. */
export interface KubeHttp {
  readonly server: string;
  /** Sends one request; `call` names it (and the object) in errors. */
  request(call: string, method: HttpMethod, path: string, o?: KubeRequest): Promise<KubeResponse>;
  /** The REST path of an object (or, for `list`, of its collection), from API discovery. */
  path(ref: Omit<KubeObjectRef, "name"> & { readonly name?: string }, action: "read" | "list"): Promise<string>;
  /** Closes the kept-alive connections. */
  close(): void;
}

/** Names an object in messages: `Node n1`, `ConfigMap kube-system/x`. */
export function describeRef(ref: { kind: string; name?: string; namespace?: string }): string {
  return `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ""}${ref.name ?? ""}`.trim();
}

const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");

/** A KubeConfig holding the endpoint's PEMs in memory (base64 `*Data` fields; nothing on disk). */
export function kubeConfigFor(endpoint: KubeEndpoint): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "yagura", server: endpoint.server, caData: b64(endpoint.caPem), skipTLSVerify: false }],
    users: [{ name: "yagura", certData: b64(endpoint.certPem), keyData: b64(endpoint.keyPem) }],
    contexts: [{ name: "yagura", cluster: "yagura", user: "yagura" }],
    currentContext: "yagura",
  });
  return kc;
}

/** A Kubernetes Status body → reason and message, when the body is one. */
function statusOf(text: string): { reason?: string; message?: string } {
  try {
    const s = JSON.parse(text) as { kind?: string; reason?: string; message?: string };
    if (s && s.kind === "Status") return { reason: s.reason, message: s.message };
  } catch {
    // Not JSON (a proxy's HTML page, a plain-text /readyz): the text itself is the message.
  }
  return { message: text.trim().slice(0, 300) || undefined };
}

/** Turns anything a request threw into a KubeApiError naming the call. */
export function toKubeApiError(call: string, server: string, timeoutMs: number, err: unknown): KubeApiError {
  if (err instanceof KubeApiError) return err;
  const e = err as Error & { type?: string; code?: string };
  if (e?.name === "AbortError" || e?.name === "TimeoutError" || e?.type === "aborted") {
    return new KubeApiError(`${call}: no answer from ${server} within ${timeoutMs} ms`, undefined, "Timeout");
  }
  if (err instanceof ApiException) {
    const body = typeof err.body === "string" ? err.body : JSON.stringify(err.body ?? "");
    const s = statusOf(body);
    return new KubeApiError(`${call}: HTTP ${err.code}${s.message ? `: ${s.message}` : ""}`, err.code, s.reason);
  }
  const cause = (e as { cause?: { code?: string } })?.cause?.code ?? e?.code;
  return new KubeApiError(`${call}: cannot reach ${server}: ${e?.message ?? String(err)}${cause ? ` (${cause})` : ""}`);
}

/**
 * A timeout and the shared agent for every request the client makes itself (discovery). The
 * client's own authentication makes a new agent per request; reusing one keeps the TLS
 * connection alive across a pass's requests.
 */
function timeoutMiddleware(ms: number, agent: Agent): ObservableMiddleware {
  return {
    pre: (ctx) => {
      ctx.setSignal(AbortSignal.timeout(ms));
      ctx.setAgent(agent);
      return new Observable(Promise.resolve(ctx));
    },
    post: (rsp) => new Observable(Promise.resolve(rsp)),
  };
}

/** KubernetesObjectApi exposes its discovery-backed path builder only to subclasses. */
class PathApi extends KubernetesObjectApi {
  pathOf(spec: KubernetesObject, action: "read" | "list"): Promise<string> {
    return this.specUriPath(spec, action);
  }
}

/** The wire for one endpoint; `timeoutMs` bounds every single request. */
export function createKubeHttp(endpoint: KubeEndpoint, timeoutMs: number): KubeHttp {
  const kc = kubeConfigFor(endpoint);
  const config: Configuration = createConfiguration({
    baseServer: new ServerConfiguration(endpoint.server, {}),
    authMethods: { default: kc },
    httpApi: new IsomorphicFetchHttpLibrary(),
  });
  // Same TLS material as the KubeConfig's (which verifies the server against the CA), kept alive.
  const agent = new Agent({ ca: endpoint.caPem, cert: endpoint.certPem, key: endpoint.keyPem, keepAlive: true });
  const withTimeout = { ...config, middleware: [timeoutMiddleware(timeoutMs, agent)] } as Configuration;
  const paths = new PathApi(withTimeout);
  const server = endpoint.server;

  return {
    server,
    async request(call, method, path, o = {}) {
      const ctx = new RequestContext(server.replace(/\/+$/, "") + path, method);
      for (const [k, v] of Object.entries(o.query ?? {})) if (v !== undefined) ctx.setQueryParam(k, v);
      ctx.setHeaderParam("Accept", "application/json, */*;q=0.8");
      if (o.body !== undefined) {
        ctx.setHeaderParam("Content-Type", o.contentType ?? "application/json");
        ctx.setBody(JSON.stringify(o.body));
      }
      let status: number;
      let text: string;
      try {
        await kc.applySecurityAuthentication(ctx);
        ctx.setAgent(agent);
        ctx.setSignal(AbortSignal.timeout(timeoutMs));
        const rsp = await config.httpApi.send(ctx).toPromise();
        status = rsp.httpStatusCode;
        text = await rsp.body.text();
      } catch (err) {
        throw toKubeApiError(call, server, timeoutMs, err);
      }
      if ((status >= 200 && status < 300) || o.accept?.includes(status)) return { status, text };
      const s = statusOf(text);
      throw new KubeApiError(`${call}: HTTP ${status}${s.message ? `: ${s.message}` : ""}`, status, s.reason);
    },
    async path(ref, action) {
      // The client lower-cases the whole path it builds, names included; RBAC names may hold
      // capitals, so it builds the path around a placeholder and the real name goes in encoded.
      const spec = {
        apiVersion: ref.apiVersion,
        kind: ref.kind,
        metadata: { name: "x", namespace: ref.namespace },
      } as KubernetesObject;
      const call = `discover ${ref.apiVersion} ${ref.kind}`;
      try {
        const p = await paths.pathOf(spec, action);
        return action === "read" ? `${p.slice(0, -"/x".length)}/${encodeURIComponent(ref.name ?? "")}` : p;
      } catch (err) {
        if (err instanceof Error && err.message.startsWith("Unrecognized API version and kind")) {
          throw new KubeApiError(`${call}: the API server does not serve this kind`, 404, "NotFound");
        }
        throw toKubeApiError(call, server, timeoutMs, err);
      }
    },
    close: () => agent.destroy(),
  };
}

export { HttpMethod };
