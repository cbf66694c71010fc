/** The in-memory KubeApi other unit tests rely on: its apply, taint guard and eviction behave as documented. */
import { describe, expect, it } from "vitest";
import { KubeApiError, type KubeObject } from "../../src/infra/kube-types.js";
import { fakeKube } from "../support/fake-kube.js";

const node = { apiVersion: "v1", kind: "Node", name: "n1" } as const;

describe("fake KubeApi", () => {
  it("server-side apply merges maps, keeps others' fields and drops yagura's own fields it no longer sends", async () => {
    const k = fakeKube();
    k.addNode("n1", { labels: { "kubernetes.io/hostname": "n1" } });
    await k.apply({ apiVersion: "v1", kind: "Node", metadata: { name: "n1", labels: { a: "1", b: "2" } } });
    expect(k.peek(node)!.metadata.labels).toEqual({ "kubernetes.io/hostname": "n1", a: "1", b: "2" });
    await k.apply({ apiVersion: "v1", kind: "Node", metadata: { name: "n1", labels: { a: "3" } } });
    expect(k.peek(node)!.metadata.labels).toEqual({ "kubernetes.io/hostname": "n1", a: "3" });
    expect(k.calls.map((c) => c.method)).toEqual(["apply", "apply"]);
    await k.apply({ apiVersion: "v1", kind: "Node", metadata: { name: "n1", labels: {} } });
    expect(k.peek(node)!.metadata.labels).toEqual({ "kubernetes.io/hostname": "n1" });
  });

  it("guards taint writes by resourceVersion and reports a conflict as 409", async () => {
    const k = fakeKube();
    k.addNode("n1");
    const [n] = await k.listNodes();
    await k.cordon("n1", true);
    const err = await k
      .setNodeTaints("n1", [{ key: "a", value: "", effect: "NoSchedule" }], n!.resourceVersion)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeApiError);
    expect((err as KubeApiError).status).toBe(409);
    const [again] = await k.listNodes();
    await k.setNodeTaints("n1", [{ key: "a", value: "", effect: "NoSchedule" }], again!.resourceVersion);
    expect((await k.listNodes())[0]!.taints).toEqual([{ key: "a", value: "", effect: "NoSchedule" }]);
    expect((await k.listNodes())[0]!.unschedulable).toBe(true);
  });

  it("filters pods by namespace, labels and node, and honours blocked evictions", async () => {
    const k = fakeKube();
    k.pods.push(
      { namespace: "kube-system", name: "p1", nodeName: "n1", ready: true, phase: "Running", labels: { app: "x" } },
      { namespace: "kube-system", name: "p2", nodeName: "n2", ready: true, phase: "Running", labels: { app: "x" } },
      { namespace: "default", name: "p3", nodeName: "n1", ready: true, phase: "Running", labels: {} },
    );
    expect((await k.listPods({ namespace: "kube-system", labelSelector: "app=x" })).map((p) => p.name)).toEqual([
      "p1",
      "p2",
    ]);
    expect((await k.listPods({ fieldSelector: "spec.nodeName=n1" })).map((p) => p.name)).toEqual(["p1", "p3"]);
    k.blockedEvictions.set("default/p3", "pdb");
    expect(await k.evict("default", "p3")).toEqual({ blocked: "pdb" });
    expect(await k.evict("kube-system", "p1")).toBe("evicted");
    expect(await k.evict("kube-system", "p1")).toBe("gone");
  });

  it("fails injected calls once, and every call when down", async () => {
    const k = fakeKube();
    k.failNext("get", new KubeApiError("get: boom", 500));
    await expect(k.get(node)).rejects.toThrow("boom");
    expect(await k.get(node)).toBeUndefined();
    k.health.down = "connect ECONNREFUSED 127.0.0.1:6443";
    await expect(k.readyz()).rejects.toThrow("ECONNREFUSED");
  });
});

describe("KubeObject", () => {
  it("has no top-level name or namespace: the type checker rejects what the API answers with HTTP 500", () => {
    const ref = { apiVersion: "v1", kind: "Pod", namespace: "default", name: "p" };
    // @ts-expect-error a reference spread into an object puts name and namespace at the top level
    const wrong: KubeObject = { ...ref, metadata: { name: "p" } };
    const right: KubeObject = { apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name } };
    expect(wrong.metadata.name).toBe(right.metadata.name);
  });
});
