/** The Kubernetes conditions `yagura status` prints, from observed KubeStatus. */
import { describe, expect, it } from "vitest";
import { observeKube } from "../../src/observe/kube.js";
import { kubeConditions, proxyModeConditions } from "../../src/observe/kube-conditions.js";
import { unreachableNode } from "../../src/cluster/status.js";
import { testSpec } from "../k8s/fixture.js";
import { fakeKube } from "../support/fake-kube.js";

const spec = testSpec("v1.33.5");
const BOOT = "node.yagura.io/not-ready";
const brief = (cs: { type: string; status: string; reason: string }[]) =>
  cs.map((c) => `${c.type}=${c.status}/${c.reason}`);

describe("kubeConditions", () => {
  it("names unregistered, extra and not-Ready nodes, and the boot taint per node", async () => {
    const k = fakeKube();
    k.put({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "default", namespace: "default" } });
    for (const n of spec.nodes.filter((x) => x.name !== "lab-1"))
      k.addNode(n.name, {
        taints: n.name === "bm-1" ? [{ key: BOOT, value: "", effect: "NoSchedule" }] : [],
        ready: n.name !== "bm-2",
      });
    k.addNode("old-1");
    const c = kubeConditions(spec, await observeKube(k, { daemonSets: [], objects: [] }), BOOT);
    expect(brief(c.cluster)).toEqual([
      "KubeAPIReady=True/Ready",
      "DefaultServiceAccount=True/Present",
      "NodesRegistered=False/Unregistered",
      "NodesReady=False/NotReady",
    ]);
    expect(c.cluster[2]!.message).toBe("5/6 registered; missing: lab-1; not in the inventory: old-1");
    expect(c.cluster[3]!.message).toBe("4/6 Ready; not Ready: bm-2");
    expect(brief(c.nodes["bm-1"]!)).toEqual([
      "Registered=True/Registered",
      "NodeReady=True/Ready",
      "BootTaintLifted=False/Present",
    ]);
    expect(brief(c.nodes["bm-2"]!)).toEqual([
      "Registered=True/Registered",
      "NodeReady=False/NotReady",
      "BootTaintLifted=True/Lifted",
    ]);
    expect(brief(c.nodes["lab-1"]!)).toEqual(["Registered=False/Unregistered"]);
  });

  it("says why when the API is not ready, and claims nothing about nodes", async () => {
    const k = fakeKube();
    k.health.down = "connect ECONNREFUSED 10.0.0.11:6443";
    const c = kubeConditions(spec, await observeKube(k, { daemonSets: [], objects: [] }), BOOT);
    expect(brief(c.cluster)).toEqual(["KubeAPIReady=False/NotReady"]);
    expect(c.cluster[0]!.message).toContain("ECONNREFUSED");
    expect(c.nodes["cp-1"]).toEqual([
      { type: "Registered", status: "Unknown", reason: "APINotReady", message: c.cluster[0]!.message },
    ]);
  });
});

describe("proxyModeConditions", () => {
  const node = (proxyMode?: string) => ({
    ...unreachableNode("w1", ""),
    reachable: true,
    ...(proxyMode ? { proxyMode } : {}),
  });
  it("is True when kube-proxy runs the configured mode", () => {
    expect(brief(proxyModeConditions(node("ipvs"), "ipvs"))).toEqual(["KubeProxyMode=True/AsConfigured"]);
  });
  it("reports a fallback with what ipvs needs and the setting to change", () => {
    const [c] = proxyModeConditions(node("iptables"), "ipvs");
    expect(brief([c!])).toEqual(["KubeProxyMode=False/Mismatch"]);
    expect(c!.message).toMatch(/runs in iptables mode but cluster.kubeProxyMode is ipvs/);
    expect(c!.message).toMatch(/ip_vs kernel modules/);
    expect(c!.message).toMatch(/set cluster.kubeProxyMode: iptables/);
  });
  it("says nothing when the mode was not observed", () => {
    expect(proxyModeConditions(node(), "ipvs")).toEqual([]);
  });
});
