import { describe, expect, it } from "vitest";
import type { TaintGates } from "../../src/addons/readiness.js";
import { KubeApiError, type KubePod } from "../../src/infra/kube-types.js";
import { bootTaintRemoveOp, bootTaintWaitOp } from "../../src/ops/addons/boot-taint.js";
import { nodesReadyWaitOp } from "../../src/ops/addons/wait.js";
import { fakeKube, type FakeKube } from "../support/fake-kube.js";
import { kubeCtx, runOp } from "./support.js";

const TAINT = "node.yagura.io/not-ready";
const GATES: TaintGates = { cni: { namespace: "calico-system", name: "calico-node" } };
const boot = { key: TAINT, value: "", effect: "NoSchedule" as const };
const gpu = { key: "dedicated", value: "gpu", effect: "NoSchedule" as const };

function calicoPod(node: string, ready: boolean): KubePod {
  return {
    namespace: "calico-system",
    name: `calico-node-${node}`,
    nodeName: node,
    ready,
    phase: "Running",
    labels: { "k8s-app": "calico-node" },
    owner: { kind: "DaemonSet", name: "calico-node" },
  };
}

function cluster(): FakeKube {
  const kube = fakeKube();
  kube.addNode("n1", { taints: [boot, gpu] });
  kube.addNode("n2", { taints: [boot] });
  return kube;
}

const taintsOf = (kube: FakeKube, n: string) =>
  (kube.peek({ apiVersion: "v1", kind: "Node", name: n })?.["spec"] as { taints?: unknown[] }).taints ?? [];

describe("boot-taint-remove", () => {
  it("takes off the boot taint only, guarded by the resourceVersion it read", async () => {
    const kube = cluster();
    kube.pods.push(calicoPod("n1", true));
    await runOp(bootTaintRemoveOp(["n1"], TAINT, GATES), kubeCtx(kube));
    expect(taintsOf(kube, "n1")).toEqual([gpu]);
    expect(taintsOf(kube, "n2")).toEqual([boot]);
    const call = kube.calls.find((c) => c.method === "setNodeTaints")!;
    expect((call.body as { resourceVersion?: string }).resourceVersion).toMatch(/^\d+$/);
  });

  it("refuses when the node stopped being ready since decide looked, and changes nothing", async () => {
    const kube = cluster();
    kube.pods.push(calicoPod("n1", false));
    await expect(runOp(bootTaintRemoveOp(["n1"], TAINT, GATES), kubeCtx(kube))).rejects.toThrow(/no longer ready/);
    expect(taintsOf(kube, "n1")).toEqual([boot, gpu]);
  });

  it("re-reads and retries when the Node changed between its read and its write", async () => {
    const kube = cluster();
    kube.pods.push(calicoPod("n1", true));
    kube.failNext("setNodeTaints", new KubeApiError("the object has been modified", 409, "Conflict"));
    await runOp(bootTaintRemoveOp(["n1"], TAINT, GATES), kubeCtx(kube));
    expect(taintsOf(kube, "n1")).toEqual([gpu]);
    expect(kube.calls.filter((c) => c.method === "setNodeTaints")).toHaveLength(2);
  });

  it("is harmless when run twice", async () => {
    const kube = cluster();
    kube.pods.push(calicoPod("n1", true));
    await runOp(bootTaintRemoveOp(["n1"], TAINT, GATES), kubeCtx(kube));
    await runOp(bootTaintRemoveOp(["n1"], TAINT, GATES), kubeCtx(kube));
    expect(kube.calls.filter((c) => c.method === "setNodeTaints")).toHaveLength(1);
  });
});

describe("boot-taint-wait", () => {
  it("returns once a waiting node's CNI pod becomes Ready", async () => {
    const kube = cluster();
    kube.pods.push(calicoPod("n2", false));
    let polls = 0;
    const ctx = kubeCtx(kube, () => {
      if (++polls === 3) kube.pods.splice(0, 1, calicoPod("n2", true));
    });
    await runOp(bootTaintWaitOp(["n2"], TAINT, GATES), ctx);
    expect(ctx.sleeps).toBe(3);
    expect(taintsOf(kube, "n2")).toEqual([boot]); // waiting never lifts the taint itself
  });

  it("fails after its timeout saying why each node waits", async () => {
    const kube = cluster();
    kube.pods.push(calicoPod("n2", false));
    await expect(runOp(bootTaintWaitOp(["n1", "n2"], TAINT, GATES, {}, 5_000), kubeCtx(kube))).rejects.toThrow(
      /not reached within 5 s \(n1: no calico-node pod yet; n2: calico-node pod not Ready\)/,
    );
  });
});

describe("addons-wait-nodes", () => {
  it("waits for more than half the nodes to be Ready", async () => {
    const kube = fakeKube();
    kube.addNode("a", { ready: true });
    kube.addNode("b", { ready: false });
    kube.addNode("c", { ready: false });
    const ctx = kubeCtx(kube, () => void kube.addNode("b", { ready: true }));
    await runOp(nodesReadyWaitOp(3), ctx);
    expect(ctx.sleeps).toBe(1);
    kube.addNode("b", { ready: false });
    await expect(runOp(nodesReadyWaitOp(3, 1_000), kubeCtx(kube))).rejects.toThrow(/1 of 3 nodes Ready/);
  });
});
