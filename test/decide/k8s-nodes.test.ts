import { describe, expect, it } from "vitest";
import { decideNodeComponents } from "../../src/decide/k8s-nodes.js";
import type { KubeApi, KubeNode } from "../../src/infra/kube-types.js";
import type { Taint } from "../../src/inventory/schema.js";
import { BOOT_GATE } from "../../src/k8s/boot-gate.js";
import { K8S } from "../../src/k8s/layout.js";
import type { OpContext } from "../../src/ops/types.js";
import { k8sDesired, k8sSpec, k8sStatusBuilder } from "./k8s-builder.js";
import { check, NOW, type K8sCase } from "./k8s-support.js";

const spec = k8sSpec(3, 2, { maxConcurrentUpdates: 2 });
const desired = k8sDesired(spec);
const ALL = ["cp1", "cp2", "cp3", "w1", "w2"];
const CP = ["kube-apiserver", "kube-controller-manager", "kube-scheduler"];
/** Control plane up everywhere, node files written, gates open, API ready; kubelets not started. */
const cpUp = () =>
  k8sStatusBuilder(spec, desired).artifacts().files().running(["cp1", "cp2", "cp3"], CP).gate(true).kube(true, []);

const big = k8sSpec(1, 30, { maxConcurrentUpdates: 3 });
const bigDesired = k8sDesired(big);
const workers30 = big.nodes.map((n) => n.name).filter((n) => n.startsWith("w"));

const cases: K8sCase[] = [
  {
    name: "fresh nodes: kubelet and kube-proxy files first, on every node",
    spec,
    desired,
    status: cpUp().file("w1", K8S.kubeletConfig, undefined).file("w2", K8S.kubeProxyConfig, undefined).build(),
    phase: "k8s-node-files",
    ops: ["k8s-node-files"],
    targets: [["w1", "w2"]],
  },
  {
    name: "gates closed on fresh nodes: opened once the API answers (registerWithTaints covers new Nodes)",
    spec,
    desired,
    status: cpUp().gate(false, ["w1", "w2"]).build(),
    phase: "k8s-boot-gate",
    ops: ["k8s-boot-gate"],
    targets: [["w1", "w2"]],
    message: /^opening the kubelet's boot gate on w1, w2$/,
  },
  {
    name: "a registered node rebooted: the boot taint goes back before its kubelet runs",
    spec,
    desired,
    status: cpUp().running().kube(true, ALL).stopped("w2", "kubelet").gate(false, ["w2"]).build(),
    phase: "k8s-boot-gate",
    ops: ["k8s-boot-gate"],
    targets: [["w2"]],
    message: /after putting the boot taint back on w2/,
  },
  {
    name: "gate closed and the API down: wait, do not start the kubelet untainted",
    spec,
    desired,
    status: cpUp().gate(false, ["w1"]).kube(false, [], "connect ECONNREFUSED").build(),
    phase: "k8s-boot-gate-waiting-for-api",
    ops: [],
    message: /ECONNREFUSED/,
  },
  {
    name: "gates open: kubelet and kube-proxy start in a batch of maxConcurrentUpdates",
    spec,
    desired,
    status: cpUp().build(),
    phase: "k8s-node-components",
    ops: ["k8s-node-components"],
    targets: [["cp1", "cp2"]],
    message: /3 more node\(s\) in later batches of 2/,
  },
  {
    name: "a stopped kube-proxy is started before outdated kubelets are restarted",
    spec,
    desired,
    status: cpUp()
      .running()
      .kube(true, ALL)
      .fingerprint("cp1", "kubelet", "old")
      .fingerprint("cp2", "kubelet", "old")
      .stopped("w2", "kube-proxy")
      .build(),
    phase: "k8s-node-components",
    ops: ["k8s-node-components"],
    targets: [["w2", "cp1"]],
  },
];

const outdated30 = (() => {
  let b = k8sStatusBuilder(big, bigDesired).complete();
  for (const w of workers30) b = b.fingerprint(w, "kubelet", "old");
  return b.build();
})();

describe("decide: kubelet and kube-proxy", () => {
  for (const c of cases) it(c.name, () => void check(c));

  it("kubelets outdated on 30 nodes → batches of maxConcurrentUpdates", () => {
    const d = check({
      name: "30",
      spec: big,
      desired: bigDesired,
      status: outdated30,
      phase: "k8s-node-components",
      ops: ["k8s-node-components"],
      targets: [["w1", "w2", "w3"]],
      message: /27 more node\(s\) in later batches of 3/,
    });
    expect(d.ops[0]!.targets).toHaveLength(3);
  });

  it("an unhealthy kubelet is reported, not restarted in a loop", () => {
    const status = cpUp().running().kube(true, ALL).health("w1", "kubelet", false).build();
    expect(decideNodeComponents(spec, status, { now: NOW, desired, scope: "all" })).toBeUndefined();
  });

  it("every node as desired: the rung has nothing to do", () => {
    const status = k8sStatusBuilder(spec, desired).complete().build();
    expect(decideNodeComponents(spec, status, { now: NOW, desired, scope: "all" })).toBeUndefined();
  });
});

/** A KubeApi fake for the boot-gate op: nodes in memory; anything else is not implemented. */
function fakeKube(nodes: KubeNode[]): KubeApi & { calls: { node: string; taints: readonly Taint[] }[] } {
  const nope = () => {
    throw new Error("not implemented");
  };
  const calls: { node: string; taints: readonly Taint[] }[] = [];
  return {
    calls,
    listNodes: async () => nodes,
    setNodeTaints: async (node, taints) => void calls.push({ node, taints }),
    readyz: nope,
    get: nope,
    list: nope,
    apply: nope,
    delete: nope,
    cordon: nope,
    listPods: nope,
    evict: nope,
    close: async () => undefined,
  };
}

describe("the boot-gate op", () => {
  const node = (name: string, taints: Taint[]): KubeNode => ({
    name,
    labels: {},
    annotations: {},
    taints,
    unschedulable: false,
    conditions: {},
  });

  async function run(kube: KubeApi | undefined, gated: string[]) {
    const status = cpUp().running().kube(true, ALL).gate(false, gated).build();
    const op = decideNodeComponents(spec, status, { now: NOW, desired, scope: "all" })!.ops[0]!;
    const shell: string[] = [];
    const ctx = {
      shell: {
        run: async (n: string, _c: string, o?: { stdin?: string }) => (shell.push(`${n}: ${o?.stdin ?? ""}`), ""),
      },
      ...(kube ? { kube } : {}),
    } as unknown as OpContext;
    for (let c = op.nextCommand(); c; c = op.nextCommand()) await c.run(ctx);
    return shell;
  }

  it("re-adds the boot taint, keeping the node's other taints, then opens the gate", async () => {
    const kube = fakeKube([node("w1", [{ key: "dedicated", value: "batch", effect: "NoSchedule" }])]);
    const shell = await run(kube, ["w1"]);
    expect(kube.calls).toEqual([
      {
        node: "w1",
        taints: [
          { key: "dedicated", value: "batch", effect: "NoSchedule" },
          { key: "node.yagura.io/not-ready", value: "", effect: "NoSchedule" },
        ],
      },
    ]);
    expect(shell).toHaveLength(1);
    expect(shell[0]).toContain(`/proc/sys/kernel/random/boot_id > ${BOOT_GATE.file}.tmp`);
  });

  it("a Node that still has the boot taint, or is not registered, needs no API write", async () => {
    const kube = fakeKube([node("w1", [{ key: "node.yagura.io/not-ready", value: "", effect: "NoSchedule" }])]);
    const shell = await run(kube, ["w1", "w2"]);
    expect(kube.calls).toEqual([]);
    expect(shell.map((s) => s.split(":")[0])).toEqual(["w1", "w2"]);
  });

  it("without an API client the gate stays closed", async () => {
    await expect(run(undefined, ["w1"])).rejects.toThrow(/boot taint cannot be put back on w1/);
  });
});
