import { describe, expect, it } from "vitest";
import type { ClusterStatus, KubeStatus, NodeStatus } from "../../src/cluster/status.js";
import type { AddonsDesired } from "../../src/addons/desired.js";
import { keyOf, refOf, revisionOf } from "../../src/addons/objects.js";
import { decideAddons } from "../../src/decide/addons.js";
import { decideBootTaint, nodeHints } from "../../src/decide/boot-taint.js";
import type { Decision } from "../../src/decide/types.js";
import type { KubeNode } from "../../src/infra/kube-types.js";
import type { Inventory } from "../../src/inventory/schema.js";
import { statusBuilder, testDesired } from "../decide/builder.js";
import { addonSpec, smallDesired } from "./support.js";

const TAINT = "node.yagura.io/not-ready";

/** The small desired state with no CNI DaemonSet to judge by. */
function withoutCni(): AddonsDesired {
  const { cni: _cni, ...rest } = smallDesired();
  return rest;
}
const spec = addonSpec([
  { name: "cp1", kind: "vm" },
  { name: "w1", kind: "vm" },
  { name: "m1", kind: "baremetal" },
]);

interface NodeInit {
  taint?: boolean;
  ready?: boolean;
  netUnavailable?: "True" | "False";
  otherTaints?: boolean;
}
const node = (name: string, n: NodeInit = {}): KubeNode => ({
  name,
  labels: {},
  annotations: {},
  taints: [
    ...(n.taint === false ? [] : [{ key: TAINT, value: "", effect: "NoSchedule" as const }]),
    ...(n.otherTaints ? [{ key: "dedicated", value: "gpu", effect: "NoSchedule" as const }] : []),
  ],
  unschedulable: false,
  conditions: {
    Ready: n.ready === false ? "False" : "True",
    ...(n.netUnavailable ? { NetworkUnavailable: n.netUnavailable } : {}),
  },
});

function kube(o: Partial<KubeStatus> = {}): KubeStatus {
  return { ready: true, defaultServiceAccount: true, nodes: {}, daemonSetPods: {}, csiDrivers: {}, objects: {}, ...o };
}

/** Status in which every desired object (and the record) is current. */
function allCurrent(a: AddonsDesired, over: Record<string, { revision?: string; established?: boolean }> = {}) {
  const objects: Record<string, { revision?: string; established?: boolean }> = {};
  for (const o of [...a.objects, a.record]) {
    objects[keyOf(refOf(o))] = {
      revision: revisionOf(o),
      ...(o.kind === "CustomResourceDefinition" ? { established: true } : {}),
    };
  }
  return { ...objects, ...over };
}

function decideWith(rung: typeof decideAddons, k: KubeStatus | undefined, addons: AddonsDesired | undefined) {
  const base = statusBuilder(spec, testDesired(spec)).build();
  const desired = { ...testDesired(spec), ...(addons ? { addons } : {}) };
  return rung(spec, { ...base, ...(k ? { kube: k } : {}) }, { now: new Date(0), desired });
}

/** Every op of a decision terminates (its commands run out). */
function terminates(d: Decision | undefined): void {
  for (const op of d?.ops ?? []) {
    let n = 0;
    while (op.nextCommand()) expect(++n).toBeLessThan(100);
  }
}

const nodes3 = (init: Partial<Record<string, NodeInit>> = {}) =>
  Object.fromEntries(["cp1", "w1", "m1"].map((n) => [n, node(n, init[n] ?? {})]));

describe("decideAddons", () => {
  const a = smallDesired();
  const cases: {
    name: string;
    kube?: KubeStatus;
    addons?: AddonsDesired | "none";
    inventoryBundles?: boolean;
    phase: string | undefined;
    ops: string[];
    applies?: number;
    first?: string;
  }[] = [
    {
      name: "nothing applied yet, one of three nodes Ready",
      kube: kube({ nodes: nodes3({ w1: { ready: false }, m1: { ready: false } }) }),
      phase: "addons-apply",
      ops: ["addons-apply"],
      first: "apply-010-Namespace",
    },
    { name: "everything current", kube: kube({ nodes: nodes3(), objects: allCurrent(a) }), phase: undefined, ops: [] },
    {
      name: "one object with another revision",
      kube: kube({ nodes: nodes3(), objects: allCurrent(a, { "v1/ConfigMap/demo/settings": { revision: "old" } }) }),
      phase: "addons-apply",
      ops: ["addons-apply"],
      first: "apply-060-ConfigMap",
    },
    {
      name: "only the held-back Deployment is left",
      kube: kube({
        nodes: nodes3({ w1: { ready: false }, m1: { ready: false } }),
        objects: allCurrent(a, { "apps/v1/Deployment/demo/web": {} }),
      }),
      phase: "addons-wait-nodes",
      ops: ["addons-wait-nodes"],
    },
    {
      name: "the held-back Deployment once two of three nodes are Ready",
      kube: kube({
        nodes: nodes3({ m1: { ready: false } }),
        objects: allCurrent(a, { "apps/v1/Deployment/demo/web": {} }),
      }),
      phase: "addons-apply",
      ops: ["addons-apply"],
      first: "apply-090-Deployment",
    },
    {
      name: "a CRD applied but not Established before its resource",
      kube: kube({
        nodes: nodes3(),
        objects: allCurrent(a, {
          "apiextensions.k8s.io/v1/CustomResourceDefinition//widgets.example.com": {
            revision: revisionOf(a.objects.find((o) => o.kind === "CustomResourceDefinition")!),
            established: false,
          },
          "example.com/v1/Widget//w1": {},
        }),
      }),
      phase: "addons-apply",
      ops: ["addons-apply"],
      first: "wait-crds-established",
    },
    {
      name: "the record is behind (an object left)",
      kube: kube({
        nodes: nodes3(),
        objects: allCurrent(a, { "v1/ConfigMap/kube-system/yagura-managed": { revision: "x" } }),
      }),
      phase: "addons-apply",
      ops: ["addons-apply"],
      first: "record",
    },
    {
      name: "API not ready",
      kube: { ...kube(), ready: false, error: "connection refused" },
      phase: "addons-aborted",
      ops: [],
    },
    { name: "API not observed", kube: undefined, phase: "addons-aborted", ops: [] },
    { name: "no add-ons in the inventory", kube: kube(), addons: "none", phase: undefined, ops: [] },
  ];

  it.each(cases)("$name → $phase", (c) => {
    const d = decideWith(decideAddons, c.kube, c.addons === "none" ? undefined : (c.addons ?? a));
    expect(d?.phase).toBe(c.phase);
    expect(d?.ops.map((o) => o.name) ?? []).toEqual(c.ops);
    if (c.first) expect(d!.ops[0]!.nextCommand()!.name).toBe(c.first);
    terminates(d);
  });

  it("aborts when the inventory lists bundles but nothing was prepared", () => {
    const s = {
      ...spec,
      inventory: { ...spec.inventory, addons: { prune: false, bundles: { coredns: {} } } } as unknown as Inventory,
    };
    const d = decideAddons(
      s,
      { ...statusBuilder(s).build(), kube: kube() },
      { now: new Date(0), desired: testDesired(s) },
    );
    expect(d?.phase).toBe("addons-aborted");
    expect(d?.message).toContain("coredns");
  });
});

describe("decideBootTaint", () => {
  const gates: AddonsDesired = {
    ...smallDesired(),
    cni: { namespace: "calico-system", name: "calico-node" },
    csi: {
      driver: "cinder.csi.openstack.org",
      daemonSet: { namespace: "kube-system", name: "csi-cinder-nodeplugin" },
      nodes: ["cp1", "w1"],
    },
  };
  const pods = (ready: Record<string, boolean>) => ({ "calico-system/calico-node": ready });
  const cinder = (...ns: string[]) => Object.fromEntries(ns.map((n) => [n, ["cinder.csi.openstack.org"]]));
  const cases: {
    name: string;
    kube: KubeStatus;
    addons?: AddonsDesired;
    phase: string | undefined;
    targets: string[];
    why?: string;
  }[] = [
    {
      name: "CNI and CSI ready everywhere",
      kube: kube({
        nodes: nodes3(),
        daemonSetPods: pods({ cp1: true, w1: true, m1: true }),
        csiDrivers: cinder("cp1", "w1"),
      }),
      phase: "boot-taint-remove",
      targets: ["cp1", "m1", "w1"],
    },
    {
      name: "a CNI pod not Ready",
      kube: kube({
        nodes: nodes3({ cp1: { taint: false }, m1: { taint: false } }),
        daemonSetPods: pods({ w1: false }),
        csiDrivers: cinder("w1"),
      }),
      phase: "boot-taint-wait",
      targets: ["w1"],
      why: "calico-node pod not Ready",
    },
    {
      name: "no CNI pod on the node yet",
      kube: kube({
        nodes: nodes3({ cp1: { taint: false }, m1: { taint: false } }),
        daemonSetPods: pods({}),
        csiDrivers: cinder("w1"),
      }),
      phase: "boot-taint-wait",
      targets: ["w1"],
      why: "no calico-node pod yet",
    },
    {
      name: "NetworkUnavailable still True",
      kube: kube({
        nodes: nodes3({ cp1: { taint: false }, m1: { taint: false }, w1: { netUnavailable: "True" } }),
        daemonSetPods: pods({ w1: true }),
        csiDrivers: cinder("w1"),
      }),
      phase: "boot-taint-wait",
      targets: ["w1"],
      why: "NetworkUnavailable is True",
    },
    {
      name: "a VM whose CSI node plugin has not registered",
      kube: kube({
        nodes: nodes3({ cp1: { taint: false }, m1: { taint: false } }),
        daemonSetPods: pods({ w1: true }),
        csiDrivers: {},
      }),
      phase: "boot-taint-wait",
      targets: ["w1"],
      why: "CSI driver cinder.csi.openstack.org not registered",
    },
    {
      name: "bare metal needs no CSI node plugin",
      kube: kube({
        nodes: nodes3({ cp1: { taint: false }, w1: { taint: false } }),
        daemonSetPods: pods({ m1: true }),
        csiDrivers: {},
      }),
      phase: "boot-taint-remove",
      targets: ["m1"],
    },
    {
      name: "one ready, one not: only the ready one",
      kube: kube({
        nodes: nodes3({ m1: { taint: false } }),
        daemonSetPods: pods({ cp1: true, w1: false }),
        csiDrivers: cinder("cp1", "w1"),
      }),
      phase: "boot-taint-remove",
      targets: ["cp1"],
    },
    {
      name: "without a managed CNI, the node's Ready condition decides",
      kube: kube({ nodes: nodes3({ cp1: { ready: false }, m1: { taint: false } }) }),
      addons: withoutCni(),
      phase: "boot-taint-remove",
      targets: ["w1"],
    },
    {
      name: "no node carries the taint",
      kube: kube({ nodes: nodes3({ cp1: { taint: false }, w1: { taint: false }, m1: { taint: false } }) }),
      phase: undefined,
      targets: [],
    },
    {
      name: "API not ready",
      kube: { ...kube(), ready: false, error: "timeout" },
      phase: "boot-taint-aborted",
      targets: [],
    },
  ];

  it.each(cases)("$name → $phase", (c) => {
    const d = decideWith(decideBootTaint, c.kube, c.addons ?? gates);
    expect(d?.phase).toBe(c.phase);
    expect(d?.ops.flatMap((o) => o.targets) ?? []).toEqual(c.targets);
    if (c.why) expect(d?.message).toContain(c.why);
    // Never early: a node that is not ready is never a target of the removal.
    if (c.phase !== "boot-taint-remove") expect(d?.ops.map((o) => o.name) ?? []).not.toContain("boot-taint-remove");
    terminates(d);
  });
});

describe("boot-taint-wait names what the node itself shows", () => {
  const st = (s: Partial<NodeStatus>): ClusterStatus =>
    ({
      nodes: {
        w1: {
          name: "w1",
          reachable: true,
          prerequisites: { ok: true, missing: [] },
          services: {},
          files: {},
          etcdData: { present: false, hasMember: false },
          ...s,
        },
      },
      etcd: { members: [] },
    }) as ClusterStatus;
  it.each([
    [{ services: { containerd: { present: true, running: false } } }, ["containerd is not running"]],
    [
      { services: { kubelet: { present: true, running: true } }, health: { kubelet: false } },
      [/the kubelet fails its health check/],
    ],
    [{ services: { kubelet: { present: true, running: false } } }, ["the kubelet is not running"]],
    [{ reachable: false, error: "timeout" }, ["unreachable over SSH: timeout"]],
    [{ services: { kubelet: { present: true, running: true } }, health: { kubelet: true } }, []],
  ] as [Partial<NodeStatus>, (string | RegExp)[]][])("%j → %j", (s, want) => {
    const got = nodeHints(st(s), "w1");
    expect(got).toHaveLength(want.length);
    want.forEach((w, i) => expect(got[i]).toMatch(w));
  });
});
