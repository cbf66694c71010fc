/**
 * A stand-in for the few kube-apiserver endpoints the KubeApi adapter calls, for its protocol
 * test: HTTPS on 127.0.0.1 with mutual TLS from our own PKI, discovery for a handful of kinds, and
 * every other request handed to the test's handler with what was sent (method, path, query,
 * content type, JSON body, client certificate CN).
 */
import { createServer } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { TLSSocket } from "node:tls";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KubeEndpoint } from "../../src/infra/kube-types.js";
import { openPki } from "../../src/pki/index.js";

/** One request as the stub received it. */
export interface Seen {
  method: string;
  path: string;
  query: URLSearchParams;
  contentType?: string;
  body?: unknown;
  clientCN?: string;
}
/** Answers one request. */
export type Handler = (s: Seen, res: ServerResponse) => void;

/** Sends a JSON answer. */
export const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
};
/** A Kubernetes Status failure body. */
export const status = (code: number, reason: string, message: string) => ({
  kind: "Status",
  apiVersion: "v1",
  status: "Failure",
  code,
  reason,
  message,
});

const resources = (groupVersion: string, rs: [string, string, boolean][]) => ({
  kind: "APIResourceList",
  apiVersion: "v1",
  groupVersion,
  resources: rs.map(([name, kind, namespaced]) => ({ name, kind, namespaced, singularName: "", verbs: ["get"] })),
});
const DISCOVERY: Record<string, unknown> = {
  "/api/v1": resources("v1", [
    ["nodes", "Node", false],
    ["serviceaccounts", "ServiceAccount", true],
    ["pods", "Pod", true],
    ["configmaps", "ConfigMap", true],
  ]),
  "/apis/rbac.authorization.k8s.io/v1": resources("rbac.authorization.k8s.io/v1", [
    ["clusterroles", "ClusterRole", false],
  ]),
  "/apis/apiextensions.k8s.io/v1": resources("apiextensions.k8s.io/v1", [
    ["customresourcedefinitions", "CustomResourceDefinition", false],
  ]),
  "/apis/storage.k8s.io/v1": resources("storage.k8s.io/v1", [["csinodes", "CSINode", false]]),
};

/** The running stub: an endpoint with yagura's admin identity, one trusting another CA, and close(). */
export interface KubeStub {
  readonly endpoint: KubeEndpoint;
  readonly foreignEndpoint: KubeEndpoint;
  close(): Promise<void>;
}

/** Starts the stub; requests other than discovery go to `handle`. */
export async function startKubeStub(handle: Handler): Promise<KubeStub> {
  const dir = await mkdtemp(join(tmpdir(), "yagura-kube-"));
  const now = new Date();
  const pki = openPki(join(dir, "pki"));
  const serving = await pki.issue(
    "kubernetes",
    {
      name: "apiserver",
      commonName: "kube-apiserver",
      dnsNames: ["localhost"],
      ipAddresses: ["127.0.0.1"],
      usages: ["server"],
    },
    now,
  );
  const admin = await pki.issue(
    "kubernetes",
    {
      name: "admin",
      commonName: "yagura-admin",
      organization: "system:masters",
      dnsNames: [],
      ipAddresses: [],
      usages: ["client"],
    },
    now,
  );
  // Another environment's CA: the adapter must refuse a server whose certificate it did not sign.
  const other = openPki(join(dir, "other"));
  const otherCa = await other.ensureCA("kubernetes", now);

  const server = createServer(
    { cert: serving.certPem, key: serving.keyPem, ca: serving.caPem, requestCert: true, rejectUnauthorized: true },
    (req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const url = new URL(req.url ?? "/", "https://127.0.0.1");
        const text = Buffer.concat(chunks).toString("utf8");
        const s: Seen = {
          method: req.method ?? "",
          path: url.pathname,
          query: url.searchParams,
          contentType: req.headers["content-type"],
          body: text ? JSON.parse(text) : undefined,
          clientCN: String((req.socket as TLSSocket).getPeerCertificate().subject?.CN),
        };
        if (req.method === "GET" && url.pathname in DISCOVERY) return json(res, 200, DISCOVERY[url.pathname]);
        if (req.method === "GET" && url.pathname.startsWith("/apis/") && url.pathname.split("/").length === 4) {
          return json(res, 404, status(404, "NotFound", "the server could not find the requested resource"));
        }
        handle(s, res);
      });
    },
  );
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  const endpoint: KubeEndpoint = {
    server: `https://127.0.0.1:${port}`,
    caPem: serving.caPem,
    certPem: admin.certPem,
    keyPem: admin.keyPem,
  };
  return {
    endpoint,
    foreignEndpoint: { ...endpoint, caPem: otherCa },
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
