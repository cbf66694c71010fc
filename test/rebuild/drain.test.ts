/** Drain over the KubeApi contract (in-memory fake): cordon, evictions, what is left, what blocks. */
import { describe, expect, it } from "vitest";
import { KubeApiError, type KubePod } from "../../src/infra/kube-types.js";
import { DrainTimeoutError, drainNodes, NodesNotReadyError, uncordonNodes } from "../../src/rebuild/drain.js";
import { fakeKube, type FakeKube } from "../support/fake-kube.js";

const pod = (name: string, nodeName: string, o: Partial<KubePod> = {}): KubePod => ({
  namespace: "default",
  name,
  nodeName,
  ready: true,
  phase: "Running",
  labels: {},
  owner: { kind: "ReplicaSet", name: "web-1" },
  ...o,
});

/** A clock that moves only when the drain sleeps. */
function clock() {
  let t = 0;
  return { now: () => new Date(t), sleep: async (ms: number) => void (t += ms), slept: () => t };
}

describe("drainNodes", () => {
  it("cordons, evicts workload pods and leaves DaemonSet, mirror and finished pods", async () => {
    const kube = fakeKube();
    kube.addNode("w1");
    kube.addNode("w2");
    kube.pods.push(
      pod("web-a", "w1"),
      pod("web-b", "w1"),
      pod("calico-x", "w1", { namespace: "kube-system", owner: { kind: "DaemonSet", name: "calico-node" } }),
      pod("static-x", "w1", { namespace: "kube-system", owner: { kind: "Node", name: "w1" } }),
      pod("job-x", "w1", { phase: "Succeeded", owner: { kind: "Job", name: "j" } }),
      pod("web-c", "w2"),
    );
    const c = clock();
    const r = await drainNodes(kube, ["w1"], { timeoutMs: 60_000, ...c });
    expect([...r.evicted].sort()).toEqual(["default/web-a", "default/web-b"]);
    expect([...r.left].sort()).toEqual([
      "default/job-x (Succeeded)",
      "kube-system/calico-x (DaemonSet)",
      "kube-system/static-x (mirror pod)",
    ]);
    expect(kube.pods.map((p) => p.name).sort()).toEqual(["calico-x", "job-x", "static-x", "web-c"]);
    expect((await kube.listNodes()).find((n) => n.name === "w1")!.unschedulable).toBe(true);
    expect((await kube.listNodes()).find((n) => n.name === "w2")!.unschedulable).toBe(false);
    await uncordonNodes(kube, ["w1"], { timeoutMs: 60_000, ...c });
    expect((await kube.listNodes()).find((n) => n.name === "w1")!.unschedulable).toBe(false);
  });

  it("retries a pod a PodDisruptionBudget keeps, and succeeds once the budget allows it", async () => {
    const kube = fakeKube();
    kube.addNode("w1");
    kube.pods.push(pod("db-0", "w1"));
    kube.blockedEvictions.set("default/db-0", "Cannot evict pod as it would violate the pod's disruption budget.");
    const c = clock();
    let rounds = 0;
    const r = await drainNodes(kube, ["w1"], {
      timeoutMs: 60_000,
      now: c.now,
      sleep: async (ms) => {
        if (++rounds === 3) kube.blockedEvictions.delete("default/db-0");
        await c.sleep(ms);
      },
    });
    expect(r.evicted).toEqual(["default/db-0"]);
    expect(kube.calls.filter((x) => x.method === "evict")).toHaveLength(4);
  });

  it("times out naming every blocking pod and its budget's message", async () => {
    const kube = fakeKube();
    kube.addNode("w1");
    kube.pods.push(pod("db-0", "w1"), pod("web-a", "w1"));
    kube.blockedEvictions.set("default/db-0", "would violate the pod's disruption budget db");
    const c = clock();
    const err = await drainNodes(kube, ["w1"], { timeoutMs: 10_000, pollMs: 1000, ...c }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DrainTimeoutError);
    expect((err as DrainTimeoutError).blocking).toEqual([
      "default/db-0 on w1: would violate the pod's disruption budget db",
    ]);
    expect((err as Error).message).toMatch(/did not finish within 10 s; blocking: default\/db-0 on w1/);
    expect((err as Error).message).toMatch(/raise --drain-timeout/);
    expect(kube.pods.map((p) => p.name)).toEqual(["db-0"]);
    expect(c.slept()).toBe(10_000);
  });
});

/** A Node whose kubelet stopped reporting: the lifecycle controller set Ready to Unknown. */
function kubeletDown(kube: FakeKube, name: string) {
  const n = kube.addNode(name);
  kube.put({ ...n, status: { conditions: [{ type: "Ready", status: "Unknown" }] } });
}

/** The API accepts evictions but the pods stay listed (terminating) until a kubelet confirms them. */
const terminatingForever = (kube: FakeKube): FakeKube => ({ ...kube, evict: async () => "evicted" });

describe("drainNodes on a node whose kubelet is down", () => {
  it("does not wait for evicted pods no kubelet will confirm, and reports them", async () => {
    const kube = fakeKube();
    kubeletDown(kube, "w1");
    kube.pods.push(pod("web-a", "w1"), pod("calico-x", "w1", { owner: { kind: "DaemonSet", name: "calico-node" } }));
    const c = clock();
    const r = await drainNodes(terminatingForever(kube), ["w1"], { timeoutMs: 60_000, ...c });
    expect(r.evicted).toEqual(["default/web-a"]);
    expect(r.unconfirmed).toEqual(["default/web-a"]);
    expect(c.slept()).toBe(0);
    expect((await kube.listNodes())[0]!.unschedulable).toBe(true);
  });

  it("still waits on a node whose kubelet reports (it will finish the pod), until the timeout", async () => {
    const kube = fakeKube();
    kube.addNode("w1", { ready: false });
    kube.pods.push(pod("web-a", "w1"));
    const c = clock();
    const err = await drainNodes(terminatingForever(kube), ["w1"], { timeoutMs: 10_000, ...c }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DrainTimeoutError);
    expect((err as Error).message).toMatch(/blocking: pods still terminating/);
  });

  it("keeps honouring a PodDisruptionBudget there", async () => {
    const kube = fakeKube();
    kubeletDown(kube, "w1");
    kube.pods.push(pod("db-0", "w1"));
    kube.blockedEvictions.set("default/db-0", "would violate the pod's disruption budget db");
    const c = clock();
    const err = await drainNodes(kube, ["w1"], { timeoutMs: 10_000, ...c }).catch((e: unknown) => e);
    expect((err as DrainTimeoutError).blocking).toEqual([
      "default/db-0 on w1: would violate the pod's disruption budget db",
    ]);
  });
});

describe("uncordonNodes", () => {
  it("uncordons each node only once it is Ready, riding out an API that is briefly away", async () => {
    const kube = fakeKube();
    kube.addNode("w1", { unschedulable: true });
    kube.addNode("w2", { unschedulable: true, ready: false });
    kube.failNext("listNodes", new KubeApiError("list nodes: cannot reach https://10.0.0.1:6443 (ECONNREFUSED)"));
    const c = clock();
    const seen: boolean[] = [];
    await uncordonNodes(kube, ["w1", "w2"], {
      timeoutMs: 60_000,
      now: c.now,
      sleep: async (ms) => {
        seen.push((await kube.listNodes()).find((n) => n.name === "w2")!.unschedulable);
        if (seen.length === 3) kube.addNode("w2", { unschedulable: true, ready: true });
        await c.sleep(ms);
      },
    });
    expect(seen).toEqual([true, true, true]);
    expect((await kube.listNodes()).map((n) => n.unschedulable)).toEqual([false, false]);
    expect(kube.calls.filter((x) => x.method === "cordon").map((x) => x.key)).toEqual(["w1", "w2"]);
  });

  it("leaves a node that never becomes Ready cordoned and says which and why", async () => {
    const kube = fakeKube();
    kube.addNode("w1", { unschedulable: true });
    kube.addNode("w2", { unschedulable: true, ready: false });
    const c = clock();
    const err = await uncordonNodes(kube, ["w1", "w2", "w3"], { timeoutMs: 10_000, ...c }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NodesNotReadyError);
    expect((err as NodesNotReadyError).notReady).toEqual(["w2: Ready False", "w3: Ready not registered"]);
    expect((err as Error).message).toMatch(/^w2, w3 did not become Ready within 10 s, so they stay cordoned/);
    expect((await kube.listNodes()).map((n) => `${n.name} ${n.unschedulable}`)).toEqual(["w1 false", "w2 true"]);
  });
});
