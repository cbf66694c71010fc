/**
 * The role defaults of clusterSpec: every control-plane node, from a pool or static, carries the
 * standard role label and (unless opted out) taint; workers carry only what the inventory says.
 */
import { describe, expect, it } from "vitest";
import { clusterSpec, CONTROL_PLANE_ROLE } from "../../src/cluster/spec.js";
import { inventorySchema, type Taint } from "../../src/inventory/schema.js";

const ROLE_TAINT: Taint = { key: CONTROL_PLANE_ROLE, value: "", effect: "NoSchedule" };
const DEDICATED: Taint = { key: "dedicated", value: "db", effect: "NoSchedule" };

/** Pool `cp` (2 nodes) and static `scp` are control plane; pool `gen` and static `sw` are workers. */
function spec(o: {
  cluster?: Record<string, unknown>;
  cpLabels?: Record<string, string>;
  cpTaints?: Taint[];
  workerTaints?: Taint[];
}) {
  const inv = inventorySchema.parse({
    cluster: { name: "t", kubernetesVersion: "1.33.5", ...o.cluster },
    openstack: {
      cloud: "c",
      region: "r",
      externalNetwork: "ext",
      network: { cidr: "10.0.0.0/24" },
      operatorCidr: "192.0.2.0/24",
      sshPublicKey: "ssh-ed25519 AAAA",
    },
    nodePools: [
      {
        name: "cp",
        role: "control-plane",
        count: 2,
        flavor: "f",
        image: "i",
        firstAddress: "10.0.0.10",
        labels: o.cpLabels ?? {},
        taints: o.cpTaints ?? [],
      },
      {
        name: "gen",
        role: "worker",
        count: 1,
        flavor: "f",
        image: "i",
        firstAddress: "10.0.0.20",
        taints: o.workerTaints ?? [],
      },
    ],
    staticNodes: [
      { name: "scp", address: "10.0.0.5", role: "control-plane", kind: "vm", labels: o.cpLabels ?? {} },
      { name: "sw", address: "10.0.0.6", role: "worker", kind: "vm" },
    ],
  });
  return Object.fromEntries(clusterSpec("t", inv).nodes.map((n) => [n.name, { labels: n.labels, taints: n.taints }]));
}

describe("control-plane role defaults", () => {
  it("labels and taints every control-plane node, pool or static; workers get neither", () => {
    const s = spec({});
    for (const n of ["cp-1", "cp-2", "scp"]) {
      expect(s[n], n).toEqual({ labels: { [CONTROL_PLANE_ROLE]: "" }, taints: [ROLE_TAINT] });
    }
    for (const n of ["gen-1", "sw"]) expect(s[n], n).toEqual({ labels: {}, taints: [] });
  });

  it.each<[string, Parameters<typeof spec>[0], { labels: Record<string, string>; taints: Taint[] }]>([
    [
      "the inventory's labels and taints come along",
      { cpLabels: { "example.org/disk": "ssd" }, cpTaints: [DEDICATED] },
      { labels: { [CONTROL_PLANE_ROLE]: "", "example.org/disk": "ssd" }, taints: [ROLE_TAINT, DEDICATED] },
    ],
    [
      "the same taint written out (as older inventories do) is not doubled",
      { cpTaints: [ROLE_TAINT] },
      { labels: { [CONTROL_PLANE_ROLE]: "" }, taints: [ROLE_TAINT] },
    ],
    [
      "a taint of the role key with another effect replaces the default",
      { cpTaints: [{ key: CONTROL_PLANE_ROLE, value: "", effect: "PreferNoSchedule" }] },
      {
        labels: { [CONTROL_PLANE_ROLE]: "" },
        taints: [{ key: CONTROL_PLANE_ROLE, value: "", effect: "PreferNoSchedule" }],
      },
    ],
    [
      "the inventory's value of the role label wins",
      { cpLabels: { [CONTROL_PLANE_ROLE]: "true" } },
      { labels: { [CONTROL_PLANE_ROLE]: "true" }, taints: [ROLE_TAINT] },
    ],
    [
      "controlPlaneTaint: false drops the taint and keeps the label",
      { cluster: { controlPlaneTaint: false } },
      { labels: { [CONTROL_PLANE_ROLE]: "" }, taints: [] },
    ],
    [
      "controlPlaneTaint: false keeps a taint the inventory writes itself",
      { cluster: { controlPlaneTaint: false }, cpTaints: [ROLE_TAINT] },
      { labels: { [CONTROL_PLANE_ROLE]: "" }, taints: [ROLE_TAINT] },
    ],
  ])("%s", (_, o, want) => {
    expect(spec(o)["cp-1"]).toEqual(want);
  });

  it("the default is on", () => {
    expect(inventorySchema.shape.cluster.parse({ name: "t", kubernetesVersion: "1.33.5" }).controlPlaneTaint).toBe(
      true,
    );
  });
});
