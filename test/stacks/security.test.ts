import { describe, expect, it } from "vitest";
import { byName, exampleInventory, resources, synth, type TfJson } from "./helpers.js";
import type { Inventory } from "../../src/inventory/schema.js";

/** Every ingress rule as `group proto min-max from`, the remote a CIDR or a group name. */
function ruleSet(tf: TfJson): string[] {
  const groupName = new Map<string, string>();
  for (const [id, g] of Object.entries(resources(tf, "openstack_networking_secgroup_v2"))) {
    groupName.set(`\${openstack_networking_secgroup_v2.${id}.id}`, String(g.name).replace(/^example-/, ""));
  }
  return Object.values(resources(tf, "openstack_networking_secgroup_rule_v2"))
    .map((r) => {
      expect(r.direction).toBe("ingress");
      expect(r.ethertype).toBe("IPv4");
      const ports = r.port_range_min === undefined ? "any" : `${r.port_range_min}-${r.port_range_max}`;
      const from = r.remote_ip_prefix ?? `group:${groupName.get(r.remote_group_id as string)}`;
      return `${groupName.get(r.security_group_id as string)} ${r.protocol} ${ports} ${from}`;
    })
    .sort();
}

const NODES = "192.168.10.0/24";
const OPS = "203.0.113.0/24";

/** Rules every variant of the example has (control-plane API, etcd, kubelet, BGP, SSH). */
const BASE = [
  `control-plane tcp 6443-6443 ${NODES}`,
  `control-plane tcp 6443-6443 ${OPS}`,
  "control-plane tcp 2379-2380 group:control-plane",
  "control-plane tcp 10250-10250 group:control-plane",
  "worker tcp 10250-10250 group:control-plane",
  "control-plane tcp 179-179 group:control-plane",
  "control-plane tcp 179-179 group:worker",
  "worker tcp 179-179 group:control-plane",
  "worker tcp 179-179 group:worker",
  `control-plane tcp 22-22 ${OPS}`,
  `worker tcp 22-22 ${OPS}`,
];
const NODEPORTS = ["control-plane", "worker"].flatMap((g) =>
  ["tcp", "udp"].flatMap((p) => [`${g} ${p} 30000-32767 ${NODES}`, `${g} ${p} 30000-32767 ${OPS}`]),
);
const PODS = ["control-plane", "worker"].flatMap((g) =>
  ["tcp", "udp", "icmp"].map((p) => `${g} ${p} any 10.244.0.0/16`),
);

function variant(edit: (inv: Inventory) => void): TfJson {
  const inv = exampleInventory();
  edit(inv);
  return synth(inv);
}

describe("security groups", () => {
  const tf = synth(exampleInventory());

  it("has exactly the example's rules (encapsulation None, NodePorts on)", () => {
    expect(ruleSet(tf)).toEqual([...BASE, ...NODEPORTS, ...PODS].sort());
  });

  it("opens IP-in-IP between nodes only with IPIP, and drops the pod CIDR rules and address pairs", () => {
    const t = variant((inv) => {
      inv.networking.calico.encapsulation = "IPIP";
      inv.cluster.nodePorts = false;
    });
    const ipip = ["control-plane", "worker"].flatMap((g) => [
      `${g} 4 any group:control-plane`,
      `${g} 4 any group:worker`,
    ]);
    expect(ruleSet(t)).toEqual([...BASE, ...ipip].sort());
    for (const p of Object.values(byName(t, "openstack_networking_port_v2")))
      expect(p.allowed_address_pairs).toBeUndefined();
  });

  it("opens VXLAN UDP 4789 between nodes only with VXLAN", () => {
    const t = variant((inv) => {
      inv.networking.calico.encapsulation = "VXLAN";
      inv.cluster.nodePorts = false;
    });
    const vxlan = ["control-plane", "worker"].flatMap((g) => [
      `${g} udp 4789-4789 group:control-plane`,
      `${g} udp 4789-4789 group:worker`,
    ]);
    expect(ruleSet(t)).toEqual([...BASE, ...vxlan].sort());
  });

  it("follows per-IP-pool encapsulation: a VXLAN pool next to an unencapsulated one", () => {
    const t = variant((inv) => {
      inv.networking.calico.ipPools = [
        { name: "a", cidr: "10.244.0.0/17", natOutgoing: true },
        { name: "b", cidr: "10.244.128.0/17", encapsulation: "VXLAN", natOutgoing: true },
      ];
    });
    const rules = ruleSet(t);
    expect(rules.filter((r) => r.includes("4789"))).toHaveLength(4);
    expect(rules.filter((r) => r.includes("10.244.0.0/17"))).toHaveLength(6);
    expect(rules.some((r) => r.includes("10.244.128.0/17"))).toBe(false);
    const port = byName(t, "openstack_networking_port_v2")["cp-1"]!;
    expect(port.allowed_address_pairs).toEqual([{ ip_address: "10.244.0.0/17" }]);
  });

  it("routes the pod CIDR through the ports when encapsulation is None", () => {
    for (const p of Object.values(byName(tf, "openstack_networking_port_v2"))) {
      expect(p.allowed_address_pairs).toEqual([{ ip_address: "10.244.0.0/16" }]);
    }
  });

  it("opens nothing to every address and puts the right group on each port", () => {
    expect(JSON.stringify(tf.resource)).not.toContain("0.0.0.0/0");
    const ports = byName(tf, "openstack_networking_port_v2");
    const groups = byName(tf, "openstack_networking_secgroup_v2");
    expect(groups["control-plane"]!.delete_default_rules).toBeUndefined(); // egress defaults stay
    expect(ports["cp-1"]!.security_group_ids).toEqual([expect.stringContaining("security_control-plane_")]);
    expect(ports["general-1"]!.security_group_ids).toEqual([expect.stringContaining("security_worker_")]);
  });

  it("lists every extra API source and refuses an API open to the world", () => {
    const t = variant((inv) => (inv.openstack!.apiEndpoint.allowedCidrs = ["198.51.100.0/24", OPS]));
    expect(ruleSet(t).filter((r) => r.includes("6443"))).toEqual(
      [
        `control-plane tcp 6443-6443 ${NODES}`,
        `control-plane tcp 6443-6443 198.51.100.0/24`,
        `control-plane tcp 6443-6443 ${OPS}`,
      ].sort(),
    );
    expect(() => variant((inv) => (inv.openstack!.apiEndpoint.allowedCidrs = ["0.0.0.0/0"]))).toThrow(
      /props\.apiAllowedCidrs\[0\] is "0\.0\.0\.0\/0"/,
    );
  });

  it("takes the node network's CIDR from the looked-up subnet when the network exists already", () => {
    const t = variant(
      (inv) => (inv.openstack!.network = { existingNetwork: "nodes", existingSubnet: "nodes-v4", dnsNameservers: [] }),
    );
    expect(resources(t, "openstack_networking_network_v2")).toEqual({});
    const subnet = Object.keys(t.data.openstack_networking_subnet_v2!)[0]!;
    expect(t.data.openstack_networking_subnet_v2![subnet]).toMatchObject({ name: "nodes-v4" });
    const fromNodes = ruleSet(t).filter((r) => r.endsWith(`\${data.openstack_networking_subnet_v2.${subnet}.cidr}`));
    expect(fromNodes).toContain(`control-plane tcp 6443-6443 \${data.openstack_networking_subnet_v2.${subnet}.cidr}`);
    const port = byName(t, "openstack_networking_port_v2")["cp-1"]!;
    expect(port.network_id).toMatch(/^\$\{data\.openstack_networking_network_v2\./);
  });

  it("limits the load balancer listener to the node network and the allowed networks", () => {
    const listener = Object.values(resources(tf, "openstack_lb_listener_v2"))[0]!;
    expect(listener).toMatchObject({ protocol: "TCP", protocol_port: 6443, allowed_cidrs: [NODES, OPS] });
  });
});
