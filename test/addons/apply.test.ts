import { describe, expect, it } from "vitest";
import { planApply } from "../../src/addons/apply.js";
import { addonsObservePlan, MANAGED_RECORD, type AddonsDesired } from "../../src/addons/desired.js";
import { keyOf, rankOf, refOf } from "../../src/addons/objects.js";
import type { KubeObject } from "../../src/infra/kube-types.js";
import { observeKube } from "../../src/observe/kube.js";
import { addonsApplyOp } from "../../src/ops/addons/apply.js";
import { crdRef } from "../../src/ops/addons/kube.js";
import { fakeKube, type FakeKube } from "../support/fake-kube.js";
import { kubeCtx, runOp, smallDesired } from "./support.js";

const NODES = ["n1", "n2", "n3"];

function cluster(ready: number): FakeKube {
  const kube = fakeKube();
  NODES.forEach((n, i) => kube.addNode(n, { ready: i < ready }));
  return kube;
}

/** The API server marks CRDs Established a moment after they are created: here, at the next poll. */
function establishCrds(kube: FakeKube): () => void {
  return () => {
    for (const o of kube.objects.values()) {
      if (o.kind !== "CustomResourceDefinition") continue;
      kube.put({ ...o, status: { conditions: [{ type: "Established", status: "True" }] } });
    }
  };
}

/** One pass: observe the fake, plan, run the op (if any). Returns the keys applied, in order. */
async function pass(kube: FakeKube, a: AddonsDesired): Promise<{ applied: string[]; commands: string[] }> {
  const before = kube.calls.length;
  const status = await observeKube(kube, addonsObservePlan(a));
  expect(status.ready, status.error).toBe(true);
  const op = addonsApplyOp(planApply(a, status, NODES.length), a);
  const commands = op ? await runOp(op, kubeCtx(kube, establishCrds(kube))) : [];
  return {
    applied: kube.calls
      .slice(before)
      .filter((c) => c.method === "apply")
      .map((c) => c.key),
    commands,
  };
}

const keys = (objs: readonly KubeObject[]) => objs.map((o) => keyOf(refOf(o)));

describe("addons-apply on an in-memory API", () => {
  it("applies in rank order, waits for the CRD before its resource, and holds the pod-network Deployment back", async () => {
    const kube = cluster(1);
    const a = smallDesired();
    const { applied, commands } = await pass(kube, a);

    const record = keyOf({ apiVersion: "v1", kind: "ConfigMap", ...MANAGED_RECORD });
    const objs = applied.filter((k) => k !== record);
    const kinds = objs.map((k) => k.split("/").at(-3)!);
    // The apply order is the rank order: namespaces, service accounts, CRDs, cluster RBAC, config, workloads, CRs.
    expect(kinds).toEqual([
      "Namespace",
      "ServiceAccount",
      "CustomResourceDefinition",
      "ClusterRole",
      "ClusterRoleBinding",
      "ConfigMap",
      "DaemonSet",
      "Deployment",
      "Widget",
    ]);
    const ranks = kinds.map(rankOf);
    expect(ranks).toEqual([...ranks].sort((x, y) => x - y));
    expect(applied.at(-1)).toBe(record);
    // Only the hostNetwork Deployment (the operator bringing up the network) went out; `web` waits.
    expect(objs).toContain("apps/v1/Deployment/demo/operator");
    expect(objs).not.toContain("apps/v1/Deployment/demo/web");
    // The CRD was Established before its Widget was sent.
    expect(commands).toEqual([
      "apply-010-Namespace",
      "apply-020-ServiceAccount",
      "apply-030-CustomResourceDefinition",
      "apply-040-ClusterRole+ClusterRoleBinding",
      "apply-060-ConfigMap",
      "apply-090-DaemonSet+Deployment",
      "apply-100-Widget",
      "record",
    ]);
    expect(kube.peek(crdRef("widgets.example.com"))?.["status"]).toBeDefined();
  });

  it("sends nothing for unchanged objects, only what changed, and the held Deployment once most nodes are Ready", async () => {
    const kube = cluster(1);
    await pass(kube, smallDesired());
    expect((await pass(kube, smallDesired())).applied).toEqual([]);

    const changed = smallDesired({
      extra: [
        { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "settings", namespace: "demo" }, data: { a: "2" } },
      ],
    });
    expect((await pass(kube, changed)).applied).toEqual(["v1/ConfigMap/demo/settings"]);

    kube.addNode("n2", { ready: true }); // 2 of 3 Ready: more than half
    expect((await pass(kube, changed)).applied).toEqual(["apps/v1/Deployment/demo/web"]);
    expect((await pass(kube, changed)).applied).toEqual([]);
  });

  it("prunes an object that left the desired set only when prune is on", async () => {
    const kube = cluster(3);
    await pass(kube, smallDesired());
    const widget = { apiVersion: "example.com/v1", kind: "Widget", name: "w1" };

    const kept = await pass(kube, smallDesired({ drop: "w1" }));
    expect(kept.commands).toEqual(["record"]);
    expect(kube.peek(widget)).toBeDefined();

    // A later object leaves with prune on: it is deleted; objects yagura never recorded are not touched.
    kube.put({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "someone-elses", namespace: "demo" } });
    await pass(kube, smallDesired({ drop: "w1" }));
    const pruned = await pass(kube, smallDesired({ drop: "settings", prune: true }));
    expect(pruned.commands).toEqual(["prune-and-record"]);
    expect(kube.calls.filter((c) => c.method === "delete").map((c) => c.key)).toEqual(["v1/ConfigMap/demo/settings"]);
    expect(kube.peek({ apiVersion: "v1", kind: "ConfigMap", namespace: "demo", name: "someone-elses" })).toBeDefined();
  });

  it("labels a Node only once it is registered, and never creates one", async () => {
    const kube = cluster(3);
    const node = (name: string): KubeObject => ({
      apiVersion: "v1",
      kind: "Node",
      metadata: { name, labels: { "route-reflector": "true" } },
    });
    const a = smallDesired({ extra: [node("n1"), node("ghost")] });
    const { applied } = await pass(kube, a);
    expect(applied).toContain("v1/Node//n1");
    expect(applied).not.toContain("v1/Node//ghost");
    expect(kube.peek({ apiVersion: "v1", kind: "Node", name: "ghost" })).toBeUndefined();
    expect(kube.peek({ apiVersion: "v1", kind: "Node", name: "n1" })?.metadata.labels?.["route-reflector"]).toBe(
      "true",
    );
    expect(keys(a.objects)).toContain("v1/Node//ghost");
  });

  it("fails a pass whose CRD never becomes Established, naming it", async () => {
    const kube = cluster(3);
    const a = smallDesired();
    const status = await observeKube(kube, addonsObservePlan(a));
    const op = addonsApplyOp(planApply(a, status, 3), a)!;
    await expect(runOp(op, kubeCtx(kube))).rejects.toThrow(/CRD widgets.example.com Established: not reached/);
    expect(kube.calls.some((c) => c.key.includes("/Widget/"))).toBe(false);
  });
});
