/**
 * The bridge pod network as tables (decidePodNetwork and the pure diff behind it), then the op's
 * route script run for real in a network namespace made for the test: the routes it writes are
 * what observe reads back, and a second diff finds nothing to do.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import type { ClusterSpec } from "../../src/cluster/spec.js";
import type { ClusterStatus } from "../../src/cluster/status.js";
import { decide } from "../../src/decide/index.js";
import { decidePodNetwork } from "../../src/decide/pod-network.js";
import { BRIDGE_CONFLIST, bridgeConflist, podNetworkTarget } from "../../src/network/bridge.js";
import { podRoutesScript } from "../../src/ops/network/bridge.js";
import { observeScript } from "../../src/observe/script.js";
import { runitSupervisor } from "../../src/supervisor/runit.js";
import { k8sDesired, k8sSpec, k8sStatusBuilder } from "./k8s-builder.js";
import { NOW } from "./k8s-support.js";

const base = k8sSpec(1, 2);
const spec: ClusterSpec = {
  ...base,
  inventory: { ...base.inventory, networking: { ...base.inventory.networking, cni: "bridge" } },
};
const desired = k8sDesired(spec);
const CIDR: Record<string, string> = { cp1: "10.244.0.0/24", w1: "10.244.1.0/24", w2: "10.244.2.0/24" };
const ADDR = Object.fromEntries(spec.nodes.map((n) => [n.name, n.address]));

type Routes = Record<string, { dst: string; via: string }[]>;
/** Every node registered with its range, its conflist and routes as given (default: all in place). */
function status(
  o: { cidrs?: Record<string, string | undefined>; files?: string[]; routes?: Routes } = {},
): ClusterStatus {
  const s = k8sStatusBuilder(spec, desired).complete().build();
  const cidrs = { ...CIDR, ...o.cidrs };
  const nodes = Object.fromEntries(
    Object.entries(s.kube!.nodes).map(([n, k]) => [
      n,
      { ...k, ...(cidrs[n] ? { podCIDR: cidrs[n] } : {}), conditions: { Ready: "True" } },
    ]),
  );
  const allRoutes = (n: string) =>
    Object.keys(CIDR)
      .filter((m) => m !== n && cidrs[m])
      .map((m) => ({ dst: cidrs[m]!, via: ADDR[m]! }));
  const statuses = Object.fromEntries(
    Object.entries(s.nodes).map(([n, st]) => [
      n,
      {
        ...st,
        files: {
          ...st.files,
          ...((o.files ?? Object.keys(CIDR)).includes(n) && cidrs[n]
            ? { [BRIDGE_CONFLIST]: bridgeConflist(cidrs[n]!).sha256 }
            : {}),
        },
        routes: o.routes?.[n] ?? allRoutes(n),
      },
    ]),
  );
  return { ...s, nodes: statuses, kube: { ...s.kube!, nodes } };
}
const decideIt = (st: ClusterStatus) => decidePodNetwork(spec, st, { now: NOW, desired, scope: "all" });

describe("decide: the bridge pod network", () => {
  it("in place everywhere: nothing to do", () => {
    expect(decideIt(status())).toBeUndefined();
  });

  it("comes after the Node objects and before the add-ons and the boot taint", () => {
    const st = status({ files: ["cp1", "w1"] });
    expect(decide(spec, st, { now: NOW, desired, scope: "all" }).phase).not.toMatch(/^boot-taint/);
  });

  it("a fresh node: its conflist and routes to both others; the others get a route to it", () => {
    const st = status({
      files: ["cp1", "w1"],
      routes: { w2: [], cp1: [{ dst: CIDR.w1!, via: ADDR.w1! }], w1: [{ dst: CIDR.cp1!, via: ADDR.cp1! }] },
    });
    const d = decideIt(st)!;
    expect(d.phase).toBe("pod-network");
    expect(d.ops.map((op) => [...op.targets])).toEqual([["cp1", "w1", "w2"]]);
    expect(d.message).toMatch(/w2 \(CNI config, 2 route\(s\) to add\)/);
    expect(d.message).toMatch(/cp1 \(1 route\(s\) to add\)/);
  });

  it("a route left for a node gone from the inventory (inside the pod range) is removed; others' routes stay", () => {
    const stale = { dst: "10.244.9.0/24", via: "10.79.1.9" };
    const foreign = { dst: "192.168.50.0/24", via: "10.79.1.9" };
    const t = podNetworkTarget(
      spec,
      spec.nodes[0]!,
      CIDR.cp1!,
      status().nodes["cp1"]!.files,
      [{ dst: CIDR.w1!, via: ADDR.w1! }, { dst: CIDR.w2!, via: ADDR.w2! }, stale, foreign],
      status().kube!.nodes,
    );
    expect(t).toEqual({ node: "cp1", add: [], remove: [stale] });
  });

  it("a node moved to another address: its route is replaced on the others", () => {
    const old = { dst: CIDR.w2!, via: "10.79.1.200" };
    const t = podNetworkTarget(
      spec,
      spec.nodes[0]!,
      CIDR.cp1!,
      status().nodes["cp1"]!.files,
      [{ dst: CIDR.w1!, via: ADDR.w1! }, old],
      status().kube!.nodes,
    )!;
    expect(t.add).toEqual([{ dst: CIDR.w2!, via: ADDR.w2! }]);
    expect(t.remove).toEqual([old]);
  });

  it("a registered node without a pod range yet: the others get no route to it; a route to its old range goes", () => {
    const toW2 = { dst: CIDR.w2!, via: ADDR.w2! };
    const routes = { cp1: [{ dst: CIDR.w1!, via: ADDR.w1! }, toW2], w1: [{ dst: CIDR.cp1!, via: ADDR.cp1! }, toW2] };
    const d = decideIt(status({ cidrs: { w2: undefined }, routes }))!;
    expect(d.phase).toBe("pod-network");
    expect(d.message).toMatch(/cp1 \(1 stale route\(s\)\); w1 \(1 stale route\(s\)\)/);
  });

  it("only unallocated nodes left: kube-wait-pod-cidrs", () => {
    const st = status({
      cidrs: { w2: undefined },
      routes: { cp1: [{ dst: CIDR.w1!, via: ADDR.w1! }], w1: [{ dst: CIDR.cp1!, via: ADDR.cp1! }], w2: [] },
    });
    const s2 = { ...st, nodes: { ...st.nodes, w2: { ...st.nodes["w2"]!, files: {} } } };
    const d = decideIt(s2)!;
    expect(d.phase).toBe("pod-network-wait");
    expect(d.ops.map((o) => o.name)).toEqual(["kube-wait-pod-cidrs"]);
  });

  it("an unreachable node is neither changed nor un-tainted", () => {
    const st = status({ files: ["cp1", "w1"] });
    const s2 = { ...st, nodes: { ...st.nodes, w2: { ...st.nodes["w2"]!, reachable: false } } };
    expect(decideIt(s2)).toBeUndefined();
  });

  it("Calico clusters skip the rung", () => {
    expect(
      decidePodNetwork(base, status({ files: [] }), { now: NOW, desired: k8sDesired(base), scope: "all" }),
    ).toBeUndefined();
  });
});

const root = process.getuid?.() === 0 && spawnSync("ip", ["-V"]).status === 0;
describe.skipIf(!root)("the route script in a real network namespace", () => {
  it("adds, replaces and removes routes that observe then reads back as in place", () => {
    const ns = `yg-podnet-${process.pid}`;
    const sh = (script: string) =>
      execFileSync("ip", ["netns", "exec", ns, "sh", "-s"], { input: script, encoding: "utf8" });
    execFileSync("ip", ["netns", "add", ns]);
    try {
      execFileSync("ip", ["-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", "eth1"]);
      execFileSync("ip", ["-n", ns, "link", "set", "eth1", "up"]);
      execFileSync("ip", ["-n", ns, "addr", "add", "10.79.0.11/16", "dev", "eth0"]);
      execFileSync("ip", ["-n", ns, "link", "set", "eth0", "up"]);
      const stale = { dst: "10.244.9.0/24", via: "10.79.1.9" };
      sh(podRoutesScript({ add: [stale], remove: [] }));
      const t = podNetworkTarget(spec, spec.nodes[0]!, CIDR.cp1!, {}, [stale], status().kube!.nodes)!;
      sh(podRoutesScript(t));
      const out = sh(
        observeScript({
          prerequisites: [],
          files: [],
          components: [],
          supervisor: runitSupervisor(),
          etcdDataDir: "/nonexistent",
          routes: true,
        }),
      );
      const routes = (JSON.parse(out) as { routes: string[] }).routes
        .map((r) => r.split(" "))
        .map(([dst, via]) => ({ dst: dst!, via: via! }));
      expect(routes).toEqual(
        expect.arrayContaining([
          { dst: CIDR.w1!, via: ADDR.w1! },
          { dst: CIDR.w2!, via: ADDR.w2! },
        ]),
      );
      expect(routes).not.toContainEqual(stale);
      expect(
        podNetworkTarget(
          spec,
          spec.nodes[0]!,
          CIDR.cp1!,
          { [BRIDGE_CONFLIST]: bridgeConflist(CIDR.cp1!).sha256 },
          routes,
          status().kube!.nodes,
        ),
      ).toBeUndefined();
      expect(sh("cat /proc/sys/net/ipv4/ip_forward").trim()).toBe("1");
    } finally {
      execFileSync("ip", ["netns", "del", ns]);
    }
  });
});
