/**
 * Rung 7a (decideApiReady) as a table, then against the in-memory API: the ops it returns run to
 * completion, and once they ran the rung has nothing left to do (nothing is re-sent).
 */
import { describe, expect, it } from "vitest";
import type { ClusterStatus } from "../../src/cluster/status.js";
import { decideApiReady } from "../../src/decide/k8s-api.js";
import type { KubeApi } from "../../src/infra/kube-types.js";
import { observeKube } from "../../src/observe/kube.js";
import { apiRbacObjects, apiserverKubeletUser } from "../../src/ops/kube/rbac.js";
import { testSpec } from "../k8s/fixture.js";
import { fakeKube, runOp, type FakeKube } from "../support/fake-kube.js";
import { statusBuilder, testDesired } from "./builder.js";

const spec = testSpec("v1.33.5");
const o = { now: new Date("2026-01-01T00:00:00Z"), desired: testDesired(spec) };
const NOPLAN = { daemonSets: [], objects: [] };

async function statusWith(kube: KubeApi): Promise<ClusterStatus> {
  return { ...statusBuilder(spec).build(), kube: await observeKube(kube, NOPLAN) };
}

function readyCluster(): FakeKube {
  const k = fakeKube();
  k.put({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "default", namespace: "default" } });
  return k;
}

describe("decideApiReady", () => {
  it("says so, without ops, when the API was not observed", () => {
    const d = decideApiReady(spec, statusBuilder(spec).build(), o)!;
    expect(d.phase).toBe("k8s-api-not-observed");
    expect(d.ops).toEqual([]);
  });

  it.each([
    ["API refuses connections", (k: FakeKube) => void (k.health.down = "connect ECONNREFUSED"), /ECONNREFUSED/],
    [
      "readyz failing",
      (k: FakeKube) => void (k.health = { ok: false, body: "[-]etcd failed" }),
      /readyz: \[-\]etcd failed/,
    ],
    [
      "no default ServiceAccount",
      (k: FakeKube) => void k.objects.delete("v1/ServiceAccount/default/default"),
      /kube-controller-manager/,
    ],
  ])("waits with a bounded op when: %s", async (_name, arrange, message) => {
    const k = readyCluster();
    arrange(k);
    const d = decideApiReady(spec, await statusWith(k), o)!;
    expect(d.phase).toBe("k8s-api-wait");
    expect(d.message).toMatch(message);
    expect(d.ops.map((x) => x.name)).toEqual(["kube-wait-api"]);
    expect(d.ops[0]!.targets).toEqual(["cp-1", "cp-2", "cp-3"]);
  });

  it("the wait op fails at its deadline with the last reason, and ends once the API is ready", async () => {
    const k = readyCluster();
    k.health = { ok: false, body: "[-]etcd failed" };
    const notReady = await statusWith(k);
    await expect(runOp(decideApiReady(spec, notReady, o)!.ops[0]!, k)).rejects.toThrow(
      /not reached within 180 s \(readyz: \[-\]etcd failed\)/,
    );
    k.health = { ok: true, body: "ok" };
    expect(await runOp(decideApiReady(spec, notReady, o)!.ops[0]!, k)).toBe(1);
  });

  it("applies the kubelet-access RBAC with force, then has nothing to do and sends nothing again", async () => {
    const k = readyCluster();
    const d = decideApiReady(spec, await statusWith(k), o)!;
    expect(d.phase).toBe("k8s-api-rbac");
    expect(d.ops.map((x) => x.name)).toEqual(["kube-apply-rbac"]);
    expect(await runOp(d.ops[0]!, k)).toBe(2);
    expect(k.calls.map((c) => c.key)).toEqual([
      "rbac.authorization.k8s.io/v1/ClusterRole//yagura:kube-apiserver-to-kubelet",
      "rbac.authorization.k8s.io/v1/ClusterRoleBinding//yagura:kube-apiserver-to-kubelet",
    ]);
    const binding = k.peek({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      name: "yagura:kube-apiserver-to-kubelet",
    })!;
    expect(binding["subjects"]).toEqual([
      { apiGroup: "rbac.authorization.k8s.io", kind: "User", name: "kube-apiserver-kubelet-client" },
    ]);
    expect(decideApiReady(spec, await statusWith(k), o)).toBeUndefined();
  });

  it("re-applies only the object whose revision drifted", async () => {
    const k = readyCluster();
    for (const obj of apiRbacObjects(spec)) await k.apply(obj);
    const role = apiRbacObjects(spec)[0]!;
    k.put({ ...role, metadata: { ...role.metadata, annotations: { "yagura.io/revision": "edited-by-hand" } } });
    const d = decideApiReady(spec, await statusWith(k), o)!;
    expect(d.ops[0]!.targets).toEqual(["ClusterRole/yagura:kube-apiserver-to-kubelet"]);
  });

  it("grants the kubelet subresources to the apiserver's kubelet client identity", () => {
    expect(apiserverKubeletUser(spec)).toBe("kube-apiserver-kubelet-client");
    const [role] = apiRbacObjects(spec);
    expect(role!["rules"]).toEqual([
      {
        apiGroups: [""],
        resources: ["nodes/proxy", "nodes/stats", "nodes/log", "nodes/spec", "nodes/metrics"],
        verbs: ["*"],
      },
    ]);
  });
});
