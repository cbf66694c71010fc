/**
 * Rung 9 (decideNodeObjects) as tables over observed Nodes, then its ops run against the
 * in-memory API: what yagura sets arrives, what others set stays, the boot taint is untouched,
 * and once the ops ran the rung has nothing left to do.
 */
import { describe, expect, it } from "vitest";
import type { ClusterSpec } from "../../src/cluster/spec.js";
import type { ClusterStatus } from "../../src/cluster/status.js";
import { decideNodeObjects } from "../../src/decide/k8s-node-objects.js";
import type { Taint } from "../../src/inventory/schema.js";
import { KubeApiError } from "../../src/infra/kube-types.js";
import { observeKube } from "../../src/observe/kube.js";
import { OWN_LABELS, OWN_TAINTS, plannedTaints, TAINT_WRITE_ATTEMPTS } from "../../src/ops/kube/node-objects.js";
import { REGISTER_RESTART_AFTER_MS } from "../../src/ops/kube/wait.js";
import type { OpContext } from "../../src/ops/types.js";
import { testSpec } from "../k8s/fixture.js";
import { fakeKube, runOp, type FakeKube } from "../support/fake-kube.js";
import { statusBuilder, testDesired } from "./builder.js";

const BOOT: Taint = { key: "node.yagura.io/not-ready", value: "", effect: "NoSchedule" };
const STORAGE: Taint = { key: "dedicated", value: "storage", effect: "NoSchedule" };

/** The fixture cluster (cp-1..3, bm-1..2 tainted `dedicated=storage`, lab-1) with extra labels on pool bm. */
function specWith(bm: { labels?: Record<string, string>; taints?: Taint[] } = {}): ClusterSpec {
  const base = testSpec("v1.33.5");
  return {
    ...base,
    nodes: base.nodes.map((n) =>
      n.pool === "bm" ? { ...n, labels: bm.labels ?? n.labels, taints: bm.taints ?? n.taints } : n,
    ),
  };
}
const o = (spec: ClusterSpec) => ({ now: new Date("2026-01-01T00:00:00Z"), desired: testDesired(spec) });

/** Every node of the spec registered as its kubelet would: boot taint plus the pool's taints, no labels of yagura's. */
function registered(spec: ClusterSpec): FakeKube {
  const k = fakeKube();
  for (const n of spec.nodes)
    k.addNode(n.name, { labels: { "kubernetes.io/hostname": n.name }, taints: [BOOT, ...n.taints] });
  return k;
}

async function statusOf(spec: ClusterSpec, k: FakeKube, unreachable: string[] = []): Promise<ClusterStatus> {
  const b = statusBuilder(spec, testDesired(spec));
  for (const n of unreachable) b.unreachable(n);
  return { ...b.build(), kube: await observeKube(k, { daemonSets: [], objects: [] }) };
}

/** decide → run its ops → observe again, until the rung is quiet; returns the phases seen. */
async function converge(spec: ClusterSpec, k: FakeKube): Promise<string[]> {
  const phases: string[] = [];
  for (let i = 0; i < 5; i++) {
    const d = decideNodeObjects(spec, await statusOf(spec, k), o(spec));
    if (!d) return phases;
    phases.push(d.phase);
    for (const op of d.ops) await runOp(op, k);
  }
  throw new Error(`did not converge: ${phases.join(" → ")}`);
}

const node = (k: FakeKube, name: string) => k.peek({ apiVersion: "v1", kind: "Node", name })!;
const taintsOf = (k: FakeKube, name: string) => (node(k, name)["spec"] as { taints?: Taint[] }).taints ?? [];

const ROLE = "node-role.kubernetes.io/control-plane";
const ROLE_TAINT: Taint = { key: ROLE, value: "", effect: "NoSchedule" };

/** The fixture cluster with `cluster.controlPlaneTaint` set. */
function specTainting(controlPlaneTaint: boolean): ClusterSpec {
  return testSpec("v1.33.5", {
    cluster: { name: "tokyo", kubernetesVersion: "v1.33.5", kubeProxyMode: "ipvs", controlPlaneTaint },
  });
}

/** Nodes as a kubelet of an older yagura registered them: boot taint and the pool's taints, no role taint. */
function registeredWithoutRole(spec: ClusterSpec): FakeKube {
  const k = fakeKube();
  for (const n of spec.nodes)
    k.addNode(n.name, {
      labels: { "kubernetes.io/hostname": n.name },
      taints: [BOOT, ...n.taints.filter((t) => t.key !== ROLE)],
    });
  return k;
}

describe("decideNodeObjects: the control-plane role label and taint", () => {
  it("sets the role label (which a kubelet may not set on itself) and taint on control-plane nodes only", async () => {
    const spec = specTainting(true);
    const k = registeredWithoutRole(spec);
    const d = decideNodeObjects(spec, await statusOf(spec, k), o(spec))!;
    expect(d.phase).toBe("k8s-node-objects");
    expect(d.message).toContain(`cp-1 (labels ${ROLE}; taints)`);
    expect(d.message).not.toContain(`bm-1 (labels ${ROLE}`);
    expect(await converge(spec, k)).toEqual(["k8s-node-objects"]);
    for (const n of ["cp-1", "cp-2", "cp-3"]) {
      expect(node(k, n).metadata.labels, n).toEqual({ "kubernetes.io/hostname": n, [ROLE]: "" });
      expect(taintsOf(k, n), n).toEqual([BOOT, ROLE_TAINT]);
      expect(node(k, n).metadata.annotations, n).toMatchObject({
        [OWN_LABELS]: JSON.stringify([ROLE]),
        [OWN_TAINTS]: JSON.stringify([`${ROLE}:NoSchedule`]),
      });
    }
    for (const n of ["bm-1", "lab-1"]) {
      expect(node(k, n).metadata.labels![ROLE], n).toBeUndefined();
      expect(
        taintsOf(k, n).map((t) => t.key),
        n,
      ).not.toContain(ROLE);
    }
  });

  it("a node registered with the role taint (the kubelet's registerWithTaints) only gets the label and records", async () => {
    const spec = specTainting(true);
    const k = registered(spec);
    expect(taintsOf(k, "cp-1")).toEqual([BOOT, ROLE_TAINT]);
    expect(await converge(spec, k)).toEqual(["k8s-node-objects"]);
    expect(k.calls.filter((c) => c.method === "setNodeTaints")).toEqual([]);
    expect(node(k, "cp-1").metadata.labels![ROLE]).toBe("");
  });

  it("controlPlaneTaint: false removes the taint yagura set, keeps the label, and keeps one yagura never set", async () => {
    const on = specTainting(true);
    const k = registeredWithoutRole(on);
    await converge(on, k);
    // cp-3's taint is someone else's: put there after yagura's record said it owns none on cp-3.
    const n3 = node(k, "cp-3");
    k.put({
      ...n3,
      metadata: { ...n3.metadata, annotations: { ...n3.metadata.annotations, [OWN_TAINTS]: "[]" } },
    });
    const off = specTainting(false);
    const d = decideNodeObjects(off, await statusOf(off, k), o(off))!;
    expect(d.message).toContain("cp-1 (taints)");
    expect(d.message).not.toContain("cp-3 (taints)");
    expect(await converge(off, k)).toEqual(["k8s-node-objects"]);
    for (const n of ["cp-1", "cp-2"]) {
      expect(taintsOf(k, n), n).toEqual([BOOT]);
      expect(node(k, n).metadata.annotations![OWN_TAINTS], n).toBe("[]");
    }
    expect(taintsOf(k, "cp-3")).toEqual([BOOT, ROLE_TAINT]);
    for (const n of ["cp-1", "cp-2", "cp-3"]) expect(node(k, n).metadata.labels![ROLE], n).toBe("");
  });
});

describe("decideNodeObjects", () => {
  it("does nothing without a ready API (the API rung waits first)", () => {
    const spec = specWith();
    expect(decideNodeObjects(spec, statusBuilder(spec).build(), o(spec))).toBeUndefined();
  });

  it("records yagura's labels and taints on first sight, then is quiet", async () => {
    const spec = specWith({ labels: { "example.org/disk": "nvme" } });
    const k = registered(spec);
    const first = decideNodeObjects(spec, await statusOf(spec, k), o(spec))!;
    expect(first.phase).toBe("k8s-node-objects");
    expect(first.ops[0]!.name).toBe("kube-node-labels-taints");
    expect(first.message).toContain("bm-1 (labels example.org/disk)");
    expect(await converge(spec, k)).toEqual(["k8s-node-objects"]);
    expect(node(k, "bm-1").metadata.labels).toEqual({ "kubernetes.io/hostname": "bm-1", "example.org/disk": "nvme" });
    expect(node(k, "bm-1").metadata.annotations).toMatchObject({
      [OWN_LABELS]: '["example.org/disk"]',
      [OWN_TAINTS]: '["dedicated:NoSchedule"]',
    });
    expect(taintsOf(k, "bm-1")).toEqual([BOOT, STORAGE]);
    // Already-registered taints match the inventory: no taint write, only the SSA of labels and records.
    expect(k.calls.filter((c) => c.method === "setNodeTaints")).toEqual([]);
  });

  it("changes and removes only its own labels and taints; others' and the boot taint stay", async () => {
    const spec = specWith({ labels: { "example.org/disk": "nvme", "example.org/old": "x" } });
    const k = registered(spec);
    await converge(spec, k);
    // Someone else labels and taints bm-1 after yagura did.
    const foreignTaint: Taint = { key: "ops.example.org/maintenance", value: "", effect: "NoExecute" };
    const n = node(k, "bm-1");
    k.put({
      ...n,
      metadata: { ...n.metadata, labels: { ...n.metadata.labels, "team.example.org/owner": "db" } },
      spec: { ...(n["spec"] as object), taints: [...taintsOf(k, "bm-1"), foreignTaint] },
    });
    // The inventory drops one label, changes the other, and swaps its taint.
    const gpu: Taint = { key: "gpu", value: "true", effect: "NoSchedule" };
    const next = specWith({ labels: { "example.org/disk": "ssd" }, taints: [gpu] });
    const d = decideNodeObjects(next, await statusOf(next, k), o(next))!;
    expect(d.message).toContain("bm-1 (labels example.org/disk; labels to remove example.org/old; taints)");
    expect(await converge(next, k)).toEqual(["k8s-node-objects"]);
    expect(node(k, "bm-1").metadata.labels).toEqual({
      "kubernetes.io/hostname": "bm-1",
      "team.example.org/owner": "db",
      "example.org/disk": "ssd",
    });
    expect(taintsOf(k, "bm-1")).toEqual([BOOT, foreignTaint, gpu]);
    expect(node(k, "bm-1").metadata.annotations![OWN_TAINTS]).toBe('["gpu:NoSchedule"]');
  });

  it("never removes the boot taint, even when the inventory lists its key", () => {
    const n = {
      name: "x",
      labels: {},
      annotations: { [OWN_TAINTS]: '["node.yagura.io/not-ready:NoSchedule"]' },
      taints: [BOOT],
      unschedulable: false,
      conditions: {},
    };
    expect(plannedTaints(n, [], BOOT.key)).toEqual([BOOT]);
    expect(plannedTaints(n, [{ ...BOOT, value: "other" }], BOOT.key)).toEqual([BOOT]);
  });

  it("re-reads and re-plans when the node changed between read and write (409), keeping the newcomer's taint", async () => {
    const k = registered(specWith());
    const spec = specWith({ taints: [{ key: "gpu", value: "true", effect: "NoSchedule" }] });
    const d = decideNodeObjects(spec, await statusOf(spec, k), o(spec))!;
    // The node controller adds a taint right after the op read bm-1: the guarded write fails once.
    const unreachable: Taint = { key: "node.kubernetes.io/unreachable", value: "", effect: "NoExecute" };
    const realSet = k.setNodeTaints.bind(k);
    let raced = false;
    k.setNodeTaints = async (name, taints, rv) => {
      if (name === "bm-1" && !raced) {
        raced = true;
        const n = node(k, "bm-1");
        k.put({ ...n, spec: { ...(n["spec"] as object), taints: [...taintsOf(k, "bm-1"), unreachable] } });
      }
      return realSet(name, taints, rv);
    };
    expect(await runOp(d.ops[0]!, k)).toBe(6); // one command per node: every node gets its record on first sight
    const setCalls = k.calls.filter((c) => c.method === "setNodeTaints" && c.key === "bm-1");
    expect(setCalls).toHaveLength(2);
    // yagura did not know it set `dedicated` (no record yet), so that one stays: never remove what is not provably ours.
    expect(taintsOf(k, "bm-1")).toEqual([
      BOOT,
      STORAGE,
      unreachable,
      { key: "gpu", value: "true", effect: "NoSchedule" },
    ]);
    expect(await converge(spec, k)).toEqual([]);
  });

  it("gives up after repeated conflicts and leaves the rest to the next pass", async () => {
    const k = registered(specWith());
    const spec = specWith({ taints: [{ key: "gpu", value: "true", effect: "NoSchedule" }] });
    const d = decideNodeObjects(spec, await statusOf(spec, k), o(spec))!;
    const conflict = new KubeApiError(
      "set taints of Node bm-1: HTTP 409: the object has been modified",
      409,
      "Conflict",
    );
    k.setNodeTaints = async () => {
      k.calls.push({ method: "setNodeTaints", key: "bm-1" });
      throw conflict;
    };
    await expect(runOp(d.ops[0]!, k)).rejects.toBe(conflict);
    expect(k.calls.filter((c) => c.method === "setNodeTaints")).toHaveLength(TAINT_WRITE_ATTEMPTS);
  });

  it("waits, bounded, for reachable nodes that have not registered; unreachable ones are not waited for", async () => {
    const spec = specWith();
    const k = registered(spec);
    await converge(spec, k);
    k.objects.delete("v1/Node//lab-1");
    k.objects.delete("v1/Node//bm-2");
    const d = decideNodeObjects(spec, await statusOf(spec, k, ["bm-2"]), o(spec))!;
    expect(d.phase).toBe("k8s-node-register-wait");
    expect(d.ops.map((x) => [x.name, x.targets])).toEqual([["kube-wait-nodes", ["lab-1"]]]);
    await expect(runOp(d.ops[0]!, k)).rejects.toThrow(/not registered yet: lab-1/);
  });

  it("a deleted Node whose kubelet runs: after a bounded wait its kubelet is restarted once, and it registers again", async () => {
    const spec = specWith();
    const k = registered(spec);
    await converge(spec, k);
    k.objects.delete("v1/Node//lab-1");
    const base = await statusOf(spec, k);
    const lab1 = base.nodes["lab-1"]!;
    const status = {
      ...base,
      nodes: {
        ...base.nodes,
        "lab-1": { ...lab1, services: { ...lab1.services, kubelet: { present: true, running: true } } },
      },
    };
    const d = decideNodeObjects(spec, status, o(spec))!;
    expect(d.phase).toBe("k8s-node-register-wait");
    // The stand-in node: restarting its kubelet registers its Node, as a real kubelet does at start.
    const ran: string[] = [];
    let t = 0;
    const ctx = {
      kube: k,
      sleep: async (ms: number) => void (t += ms),
      now: () => new Date(t),
      shell: {
        run: async (node: string, _cmd: string, opts?: { stdin?: string }) => {
          ran.push(`${node}: ${opts?.stdin?.includes("restart") ? "restart" : "other"}`);
          k.addNode(node);
          return "";
        },
      },
      etcdAdmin: () => {
        throw new Error("not modelled");
      },
    } as unknown as OpContext;
    for (let c = d.ops[0]!.nextCommand(); c; c = d.ops[0]!.nextCommand()) await c.run(ctx);
    expect(ran).toEqual(["lab-1: restart"]);
    expect(t).toBeGreaterThanOrEqual(REGISTER_RESTART_AFTER_MS);
    expect(node(k, "lab-1")).toBeDefined();
  });

  it("cordons and deletes Nodes no longer in the inventory, in one op", async () => {
    const spec = specWith();
    const fresh = registered(spec);
    fresh.addNode("old-2");
    fresh.addNode("old-1");
    expect(await converge(spec, fresh)).toEqual(["k8s-node-objects", "k8s-node-removal"]);
    expect(fresh.calls.filter((c) => c.method !== "apply").map((c) => `${c.method} ${c.key}`)).toEqual([
      "cordon old-1",
      "delete v1/Node//old-1",
      "cordon old-2",
      "delete v1/Node//old-2",
    ]);
    expect((await fresh.listNodes()).map((n) => n.name).sort()).toEqual(spec.nodes.map((n) => n.name).sort());
  });

  it("refuses to delete every registered Node when none of them is in the inventory", async () => {
    const spec = specWith();
    const k = fakeKube();
    k.addNode("elsewhere-1");
    k.addNode("elsewhere-2");
    const d = decideNodeObjects(
      spec,
      await statusOf(
        spec,
        k,
        spec.nodes.map((n) => n.name),
      ),
      o(spec),
    )!;
    expect(d.phase).toBe("k8s-node-removal-aborted");
    expect(d.ops).toEqual([]);
    expect(d.message).toContain("elsewhere-1, elsewhere-2");
  });
});
