/**
 * A protocol test of the KubeApi adapter (src/infra/kube.ts), not an end-to-end test: a real
 * HTTPS server on 127.0.0.1 with certificates from our own PKI (mutual TLS) answers the few
 * endpoints the adapter calls, records each request, and the tests check their shapes (paths,
 * content types, query, bodies) and how answers map to results and KubeApiErrors. Whether a real
 * kube-apiserver accepts them is the lab e2e test's job (test/e2e/k8s.e2e.test.ts).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createKubeApi } from "../../src/infra/kube.js";
import { KubeApiError, type KubeEndpoint } from "../../src/infra/kube-types.js";
import { json, startKubeStub, status, type Handler, type KubeStub, type Seen } from "./kube-stub.js";

let stub: KubeStub;
let endpoint: KubeEndpoint;
let foreignEndpoint: KubeEndpoint;
let seen: Seen[] = [];
let handler: Handler;

beforeAll(async () => {
  stub = await startKubeStub((s, res) => {
    seen.push(s);
    handler(s, res);
  });
  ({ endpoint, foreignEndpoint } = stub);
});

afterAll(async () => {
  await stub?.close();
});

beforeEach(() => {
  seen = [];
  handler = (_s, res) => json(res, 500, status(500, "InternalError", "no handler"));
});

const errorOf = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error("expected a KubeApiError");
    },
    (e: unknown) => e as KubeApiError,
  );

describe("KubeApi adapter (protocol test against a TLS stub server)", () => {
  it("authenticates with the admin client certificate and reads /readyz, verbosely when it fails", async () => {
    const api = createKubeApi(endpoint);
    handler = (_s, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("ok");
    };
    expect(await api.readyz()).toEqual({ ok: true, body: "ok" });
    expect(seen[0]!.clientCN).toBe("yagura-admin");

    handler = (s, res) => {
      res.writeHead(500, { "content-type": "text/plain" });
      res.end(s.query.has("verbose") ? "[-]etcd failed: reason withheld\nreadyz check failed" : "readyz check failed");
    };
    const r = await api.readyz();
    expect(r.ok).toBe(false);
    expect(r.body).toContain("[-]etcd failed");
  });

  it("refuses a server whose certificate another CA signed", async () => {
    const api = createKubeApi(foreignEndpoint, { timeoutMs: 5000 });
    const e = await errorOf(api.readyz());
    expect(e).toBeInstanceOf(KubeApiError);
    expect(e.message).toMatch(/GET \/readyz: cannot reach https:\/\/127\.0\.0\.1:\d+/);
    expect(e.message).not.toContain("PRIVATE KEY");
  });

  it("server-side applies with the apply content type, fieldManager=yagura and force, keeping x-kubernetes fields", async () => {
    const api = createKubeApi(endpoint);
    const crd = {
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      metadata: { name: "things.example.org", annotations: { "yagura.io/revision": "abc" } },
      spec: {
        group: "example.org",
        scope: "Cluster",
        names: { kind: "Thing", plural: "things" },
        versions: [
          {
            name: "v1",
            served: true,
            storage: true,
            schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
          },
        ],
      },
    };
    handler = (s, res) =>
      json(res, 200, { ...(s.body as object), metadata: { ...crd.metadata, resourceVersion: "9" } });
    const out = await api.apply(crd, { force: true });
    const req = seen[0]!;
    expect(req.method).toBe("PATCH");
    expect(req.path).toBe("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/things.example.org");
    expect(req.contentType).toBe("application/apply-patch+yaml");
    expect(req.query.get("fieldManager")).toBe("yagura");
    expect(req.query.get("force")).toBe("true");
    expect(req.body).toEqual(crd);
    expect(out.metadata["resourceVersion"]).toBe("9");

    await api.apply({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "x", namespace: "kube-system" } });
    expect(seen[1]!.path).toBe("/api/v1/namespaces/kube-system/serviceaccounts/x");
    expect(seen[1]!.query.has("force")).toBe(false);
    // RBAC names may hold capitals and colons: the name goes into the path as given, encoded.
    await api.apply({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: { name: "Team:Ops" },
    });
    expect(seen[2]!.path).toBe("/apis/rbac.authorization.k8s.io/v1/clusterroles/Team%3AOps");
  });

  it("maps 409 and 429 to typed errors that name the call and the object", async () => {
    const api = createKubeApi(endpoint);
    handler = (_s, res) => json(res, 409, status(409, "Conflict", "Apply failed with 1 conflict: .rules"));
    const conflict = await errorOf(
      api.apply({ apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", metadata: { name: "r" } }),
    );
    expect(conflict).toMatchObject({ status: 409, reason: "Conflict" });
    expect(conflict.message).toBe("apply ClusterRole r: HTTP 409: Apply failed with 1 conflict: .rules");

    handler = (_s, res) => json(res, 429, status(429, "TooManyRequests", "too many requests"));
    const busy = await errorOf(api.listNodes());
    expect(busy).toMatchObject({ status: 429, reason: "TooManyRequests" });
    expect(busy.message).toContain("list nodes");
  });

  it("returns undefined for a missing object and for a kind whose group the server does not serve", async () => {
    const api = createKubeApi(endpoint);
    handler = (s, res) =>
      s.path.endsWith("/default")
        ? json(res, 200, {
            apiVersion: "v1",
            kind: "ServiceAccount",
            metadata: { name: "default", namespace: "default" },
          })
        : json(res, 404, status(404, "NotFound", 'serviceaccounts "x" not found'));
    expect(
      await api.get({ apiVersion: "v1", kind: "ServiceAccount", namespace: "default", name: "x" }),
    ).toBeUndefined();
    const sa = await api.get({ apiVersion: "v1", kind: "ServiceAccount", namespace: "default", name: "default" });
    expect(sa?.metadata.name).toBe("default");
    expect(await api.get({ apiVersion: "crd.projectcalico.org/v1", kind: "IPPool", name: "p" })).toBeUndefined();
    await api.delete({ apiVersion: "v1", kind: "ServiceAccount", namespace: "default", name: "x" });
    expect(seen.at(-1)).toMatchObject({ method: "DELETE", path: "/api/v1/namespaces/default/serviceaccounts/x" });
  });

  it("writes taints as a merge patch guarded by resourceVersion, and removes them with null", async () => {
    const api = createKubeApi(endpoint);
    handler = (_s, res) => json(res, 200, { apiVersion: "v1", kind: "Node", metadata: { name: "n1" } });
    const taint = { key: "dedicated", value: "db", effect: "NoSchedule" as const };
    await api.setNodeTaints("n1", [taint], "7");
    expect(seen[0]).toMatchObject({
      method: "PATCH",
      path: "/api/v1/nodes/n1",
      contentType: "application/merge-patch+json",
      body: { metadata: { resourceVersion: "7" }, spec: { taints: [taint] } },
    });
    expect(seen[0]!.query.get("fieldManager")).toBe("yagura");
    await api.setNodeTaints("n1", []);
    expect(seen[1]!.body).toEqual({ spec: { taints: null } });

    handler = (_s, res) =>
      json(
        res,
        409,
        status(409, "Conflict", 'Operation cannot be fulfilled on nodes "n1": the object has been modified'),
      );
    const e = await errorOf(api.setNodeTaints("n1", [taint], "6"));
    expect(e).toMatchObject({ status: 409, reason: "Conflict" });
    expect(e.message).toContain("set taints of Node n1");

    handler = (_s, res) => json(res, 200, { apiVersion: "v1", kind: "Node", metadata: { name: "n1" } });
    await api.cordon("n1", true);
    expect(seen.at(-1)!.body).toEqual({ spec: { unschedulable: true } });
  });

  it("evicts through the Eviction API: created, gone, or blocked by a budget", async () => {
    const api = createKubeApi(endpoint);
    const answers = [
      [201, { kind: "Status", status: "Success" }],
      [404, status(404, "NotFound", 'pods "p" not found')],
      [429, status(429, "TooManyRequests", "Cannot evict pod as it would violate the pod's disruption budget.")],
    ] as const;
    let i = 0;
    handler = (_s, res) => json(res, answers[i]![0], answers[i++]![1]);
    expect(await api.evict("apps", "p")).toBe("evicted");
    expect(seen[0]).toMatchObject({
      method: "POST",
      path: "/api/v1/namespaces/apps/pods/p/eviction",
      body: { apiVersion: "policy/v1", kind: "Eviction", metadata: { name: "p", namespace: "apps" } },
    });
    expect(await api.evict("apps", "p")).toBe("gone");
    expect(await api.evict("apps", "p")).toEqual({
      blocked: "Cannot evict pod as it would violate the pod's disruption budget.",
    });
  });

  it("reads nodes, pods (with selectors) and CSINodes into their views", async () => {
    const api = createKubeApi(endpoint);
    handler = (s, res) => {
      if (s.path === "/api/v1/nodes")
        return json(res, 200, {
          kind: "NodeList",
          items: [
            {
              metadata: { name: "n1", resourceVersion: "12", labels: { a: "b" } },
              spec: { taints: [{ key: "t", effect: "NoSchedule" }], providerID: "openstack:///id" },
              status: { conditions: [{ type: "Ready", status: "True" }] },
            },
          ],
        });
      if (s.path === "/api/v1/namespaces/kube-system/pods")
        return json(res, 200, {
          kind: "PodList",
          items: [
            {
              metadata: {
                name: "calico-node-x",
                namespace: "kube-system",
                labels: { k8s: "calico" },
                ownerReferences: [{ kind: "DaemonSet", name: "calico-node", controller: true }],
              },
              spec: { nodeName: "n1" },
              status: { phase: "Running", conditions: [{ type: "Ready", status: "False" }] },
            },
          ],
        });
      json(res, 200, {
        kind: "CSINodeList",
        items: [{ metadata: { name: "n1" }, spec: { drivers: [{ name: "cinder.csi.openstack.org" }] } }],
      });
    };
    expect(await api.listNodes()).toEqual([
      {
        name: "n1",
        labels: { a: "b" },
        annotations: {},
        taints: [{ key: "t", value: "", effect: "NoSchedule" }],
        unschedulable: false,
        conditions: { Ready: "True" },
        providerID: "openstack:///id",
        resourceVersion: "12",
      },
    ]);
    const pods = await api.listPods({
      namespace: "kube-system",
      labelSelector: "k8s=calico",
      fieldSelector: "spec.nodeName=n1",
    });
    expect(seen[1]!.query.get("labelSelector")).toBe("k8s=calico");
    expect(seen[1]!.query.get("fieldSelector")).toBe("spec.nodeName=n1");
    expect(pods).toEqual([
      {
        namespace: "kube-system",
        name: "calico-node-x",
        nodeName: "n1",
        ready: false,
        phase: "Running",
        labels: { k8s: "calico" },
        owner: { kind: "DaemonSet", name: "calico-node" },
      },
    ]);
    const csi = await api.list("storage.k8s.io/v1", "CSINode");
    expect(seen[2]!.path).toBe("/apis/storage.k8s.io/v1/csinodes");
    expect(csi[0]).toMatchObject({ apiVersion: "storage.k8s.io/v1", kind: "CSINode", metadata: { name: "n1" } });
  });

  it("turns a server that never answers into a Timeout KubeApiError", async () => {
    const api = createKubeApi(endpoint, { timeoutMs: 300 });
    handler = () => undefined; // accept the request, never answer
    const e = await errorOf(api.listNodes());
    expect(e).toBeInstanceOf(KubeApiError);
    expect(e.reason).toBe("Timeout");
    expect(e.message).toMatch(/^list nodes: no answer from https:\/\/127\.0\.0\.1:\d+ within 300 ms$/);
  });
});
