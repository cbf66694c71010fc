/** observeKube over the in-memory KubeApi: what it reads, and that it never throws. */
import { describe, expect, it } from "vitest";
import { KubeApiError } from "../../src/infra/kube-types.js";
import { observeKube, type KubeObservePlan } from "../../src/observe/kube.js";
import { API_RBAC_REFS } from "../../src/ops/kube/rbac.js";
import { keyOf as objectKey } from "../../src/addons/objects.js";
import { fakeKube } from "../support/fake-kube.js";

const plan: KubeObservePlan = {
  daemonSets: [{ namespace: "kube-system", name: "calico-node" }],
  objects: [
    { apiVersion: "apiextensions.k8s.io/v1", kind: "CustomResourceDefinition", name: "ippools.crd.projectcalico.org" },
    { apiVersion: "v1", kind: "ConfigMap", namespace: "kube-system", name: "absent" },
  ],
};

function arranged() {
  const k = fakeKube();
  k.put({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "default", namespace: "default" } });
  k.addNode("cp1", {
    labels: { a: "b" },
    taints: [{ key: "node.yagura.io/not-ready", value: "", effect: "NoSchedule" }],
  });
  k.addNode("w1", { ready: false });
  const calico = (name: string, node: string, ready: boolean) => ({
    namespace: "kube-system",
    name,
    nodeName: node,
    ready,
    phase: "Running",
    labels: {},
    owner: { kind: "DaemonSet", name: "calico-node" },
  });
  k.pods.push(calico("c1", "cp1", true), calico("c2", "w1", false), {
    ...calico("other", "w1", true),
    owner: { kind: "DaemonSet", name: "kube-proxy" },
  });
  k.put({
    apiVersion: "storage.k8s.io/v1",
    kind: "CSINode",
    metadata: { name: "w1" },
    spec: { drivers: [{ name: "nfs.csi.k8s.io" }, { name: "cinder.csi.openstack.org" }] },
  });
  k.put({
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: "ippools.crd.projectcalico.org", annotations: { "yagura.io/revision": "r1" } },
    status: { conditions: [{ type: "Established", status: "True" }] },
  });
  return k;
}

describe("observeKube", () => {
  it("reads readiness, the default ServiceAccount, nodes, DaemonSet pods by node, CSI drivers and object revisions", async () => {
    const s = await observeKube(arranged(), plan);
    expect(s.ready).toBe(true);
    expect(s.error).toBeUndefined();
    expect(s.defaultServiceAccount).toBe(true);
    expect(Object.keys(s.nodes)).toEqual(["cp1", "w1"]);
    expect(s.nodes["cp1"]!.taints).toEqual([{ key: "node.yagura.io/not-ready", value: "", effect: "NoSchedule" }]);
    expect(s.nodes["w1"]!.conditions).toEqual({ Ready: "False" });
    expect(s.daemonSetPods).toEqual({ "kube-system/calico-node": { cp1: true, w1: false } });
    expect(s.csiDrivers).toEqual({ w1: ["cinder.csi.openstack.org", "nfs.csi.k8s.io"] });
    expect(s.objects).toEqual({
      "apiextensions.k8s.io/v1/CustomResourceDefinition//ippools.crd.projectcalico.org": {
        revision: "r1",
        established: true,
      },
    });
  });

  it("always watches the API rung's RBAC objects", async () => {
    const k = arranged();
    k.put({
      apiVersion: API_RBAC_REFS[0]!.apiVersion,
      kind: API_RBAC_REFS[0]!.kind,
      metadata: { name: API_RBAC_REFS[0]!.name, annotations: { "yagura.io/revision": "x" } },
    });
    const s = await observeKube(k, { daemonSets: [], objects: [] });
    expect(s.objects).toEqual({ [objectKey(API_RBAC_REFS[0]!)]: { revision: "x" } });
  });

  it("reports a missing default ServiceAccount (the controller manager has not run yet)", async () => {
    const k = arranged();
    k.objects.delete("v1/ServiceAccount/default/default");
    const s = await observeKube(k, plan);
    expect(s.ready).toBe(true);
    expect(s.defaultServiceAccount).toBe(false);
  });

  it("turns an unready or unreachable API into a status with the reason", async () => {
    const k = arranged();
    k.health = { ok: false, body: "[-]poststarthook/rbac/bootstrap-roles failed: not finished" };
    expect(await observeKube(k, plan)).toMatchObject({
      ready: false,
      error: "readyz: [-]poststarthook/rbac/bootstrap-roles failed: not finished",
      nodes: {},
    });
    k.health = { ok: true, body: "ok", down: "connect ECONNREFUSED 10.0.0.11:6443" };
    const s = await observeKube(k, plan);
    expect(s.ready).toBe(false);
    expect(s.error).toContain("ECONNREFUSED");
  });

  it("reads as not ready, naming the read, when one read fails after /readyz answered", async () => {
    const k = arranged();
    k.failNext("listNodes", new KubeApiError("list nodes: HTTP 403: forbidden", 403, "Forbidden"));
    const s = await observeKube(k, plan);
    expect(s.ready).toBe(false);
    expect(s.error).toBe("the API answered /readyz but a read failed: nodes: list nodes: HTTP 403: forbidden");
    expect(s.nodes).toEqual({});
  });
});
