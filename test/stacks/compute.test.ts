import { describe, expect, it } from "vitest";
import { byName, exampleInventory, synth } from "./helpers.js";
import { loadProviderSchema } from "../../stacks/schema-check.js";

const tf = synth(exampleInventory());
const servers = byName(tf, "openstack_compute_instance_v2");
const ports = byName(tf, "openstack_networking_port_v2");

describe("compute", () => {
  it("creates one server and one port per pool node, named <pool>-<n>", () => {
    const names = ["cp-1", "cp-2", "cp-3", "general-1", "general-2", "general-3", "metal-1", "metal-2"];
    expect(Object.keys(servers).sort()).toEqual([...names].sort());
    expect(Object.keys(ports).sort()).toEqual([...names].sort());
  });

  it("gives each port its node's fixed address and attaches the server by port id only", () => {
    expect((ports["cp-1"]!.fixed_ip as { ip_address: string }[])[0]!.ip_address).toBe("192.168.10.10");
    expect((ports["general-3"]!.fixed_ip as { ip_address: string }[])[0]!.ip_address).toBe("192.168.10.52");
    expect((ports["metal-2"]!.fixed_ip as { ip_address: string }[])[0]!.ip_address).toBe("192.168.10.101");
    for (const [name, s] of Object.entries(servers)) {
      const net = s.network as Record<string, unknown>[];
      expect(net).toHaveLength(1);
      expect(Object.keys(net[0]!)).toEqual(["port"]);
      expect(net[0]!.port).toMatch(
        new RegExp(`^\\$\\{openstack_networking_port_v2\\.ports_${name}_[0-9A-F]+\\.id\\}$`),
      );
      expect(s.security_groups).toBeUndefined(); // the port carries the group
    }
  });

  it("places VMs in their zones round-robin and uses pool flavor and image", () => {
    expect(["cp-1", "cp-2", "cp-3"].map((n) => servers[n]!.availability_zone)).toEqual(["az1", "az2", "az3"]);
    expect(servers["cp-1"]!.flavor_name).toBe("m1.large");
    expect(servers["cp-1"]!.image_name).toBe("ubuntu-24.04");
    expect(servers["metal-1"]!.flavor_name).toBe("baremetal.gpu");
  });

  it("treats bare metal differently from VMs: config drive, long timeouts, no Cinder", () => {
    for (const n of ["metal-1", "metal-2"]) {
      expect(servers[n]!.config_drive).toBe(true);
      expect(servers[n]!.timeouts).toEqual({ create: "60m", delete: "30m" });
      expect(servers[n]!.block_device).toBeUndefined();
      expect(servers[n]!.scheduler_hints).toBeUndefined(); // serverGroupPolicy none
      expect((servers[n]!.metadata as Record<string, string>).rack).toBe(n === "metal-1" ? "rack-a" : "rack-b");
      expect(ports[n]!.binding).toEqual({ vnic_type: "baremetal" });
    }
    for (const n of ["cp-1", "general-1"]) {
      expect(servers[n]!.config_drive).toBeUndefined();
      expect(servers[n]!.timeouts).toBeUndefined();
      expect(ports[n]!.binding).toBeUndefined();
    }
  });

  it("uses the pool's bare-metal timeouts when set", () => {
    const inv = exampleInventory();
    inv.nodePools[2]!.timeouts = { create: "120m" };
    const s = byName(synth(inv), "openstack_compute_instance_v2");
    expect(s["metal-1"]!.timeouts).toEqual({ create: "120m", delete: "30m" });
  });

  it("boots general VMs from a Cinder volume of the pool's size", () => {
    const bd = servers["general-1"]!.block_device as Record<string, unknown>[];
    expect(bd).toEqual([
      expect.objectContaining({
        source_type: "image",
        destination_type: "volume",
        volume_size: 100,
        volume_type: "ssd",
        boot_index: 0,
        delete_on_termination: true,
      }),
    ]);
    expect(servers["general-1"]!.image_name).toBeUndefined();
    expect(servers["cp-1"]!.block_device).toBeUndefined();
  });

  it("gives etcd volumes to control-plane VMs only, each attached to its own server", () => {
    const vols = byName(tf, "openstack_blockstorage_volume_v3");
    expect(Object.keys(vols).sort()).toEqual(["cp-1-etcd", "cp-2-etcd", "cp-3-etcd"]);
    expect(vols["cp-2-etcd"]).toMatchObject({ size: 20, volume_type: "ssd", availability_zone: "az2" });
    const attach = byName(tf, "openstack_compute_volume_attach_v2");
    expect(Object.keys(attach).sort()).toEqual(["cp-1-etcd-attach", "cp-2-etcd-attach", "cp-3-etcd-attach"]);
    expect(attach["cp-1-etcd-attach"]!.instance_id).toMatch(/openstack_compute_instance_v2\.compute_cp-1_/);
    expect(attach["cp-1-etcd-attach"]!.volume_id).toMatch(/openstack_blockstorage_volume_v3\.compute_cp-1-etcd_/);
  });

  it("rejects Cinder volumes on a bare-metal pool, naming the property", () => {
    const inv = exampleInventory();
    inv.nodePools[2]!.volumes = { etcd: { size: 10 } };
    expect(() => synth(inv)).toThrow(/props\.pools\[2\]\.volumes\.etcd/);
  });

  it("rejects a timeout Terraform cannot parse", () => {
    const inv = exampleInventory();
    inv.nodePools[2]!.timeouts = { create: "1d" };
    expect(() => synth(inv)).toThrow(/props\.pools\[2\]\.timeouts\.create is "1d"/);
  });

  it("creates a server group per pool with its policy, none for policy none", () => {
    const groups = byName(tf, "openstack_compute_servergroup_v2");
    expect(Object.keys(groups).sort()).toEqual(["cp-group", "general-group"]);
    expect(groups["cp-group"]!.policies).toEqual(["anti-affinity"]);
    expect(groups["general-group"]!.policies).toEqual(["soft-anti-affinity"]);
    expect(servers["cp-1"]!.scheduler_hints).toEqual([
      { group: expect.stringMatching(/servergroup_v2\.compute_cp-group_/) },
    ]);
  });

  it("renders role cloud-init with modules, sysctls, swap off, runtime readiness and the ssh key", () => {
    const cp = servers["cp-1"]!.user_data as string;
    const worker = servers["metal-1"]!.user_data as string;
    for (const ud of [cp, worker]) {
      expect(ud.startsWith("#cloud-config\n")).toBe(true);
      expect(ud).toContain("      overlay\n      br_netfilter\n");
      expect(ud).toContain("net.ipv4.ip_forward = 1");
      expect(ud).toContain("net.bridge.bridge-nf-call-iptables = 1");
      expect(ud).toContain('["swapoff","-a"]');
      expect(ud).toContain("systemctl enable --now containerd");
      expect(ud).toContain(
        '"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBvG1m0mXH7e0H1l4cQp2B7y5t6V0n8Kx0p6lq9F0aXo operator@example"',
      );
    }
    expect(cp).toContain("hostname: cp-1\n");
    expect(cp).toMatch(
      /What=\/dev\/disk\/by-id\/virtio-\$\{substr\(openstack_blockstorage_volume_v3\.compute_cp-1-etcd_[0-9A-F]+\.id, 0, 20\)\}/,
    );
    expect(worker).not.toContain("var-lib-etcd");
    expect(servers["general-1"]!.user_data as string).not.toContain("var-lib-etcd");
  });

  it("tags every taggable resource with cluster and environment, and node resources with pool and role", () => {
    // Every resource whose type has a settable tags (or metadata) attribute in the provider schema.
    const schema = loadProviderSchema();
    for (const [type, instances] of Object.entries(tf.resource)) {
      const attrs = schema.resource_schemas[type]?.block.attributes ?? {};
      for (const [id, body] of Object.entries(instances)) {
        if (attrs.tags?.optional) {
          expect(body.tags, id).toEqual(expect.arrayContaining(["cluster=example", "environment=example"]));
        }
        if (attrs.metadata?.optional) {
          expect(body.metadata, id).toMatchObject({ cluster: "example", environment: "example" });
        }
      }
    }
    expect(servers["general-2"]!.tags).toEqual([
      "cluster=example",
      "environment=example",
      "pool=general",
      "role=worker",
    ]);
    expect(ports["cp-2"]!.tags).toEqual(["cluster=example", "environment=example", "pool=cp", "role=control-plane"]);
    expect(servers["cp-1"]!.metadata).toMatchObject({
      cluster: "example",
      environment: "example",
      pool: "cp",
      role: "control-plane",
      kind: "vm",
    });
  });
});
