import { describe, expect, it } from "vitest";
import { checkStack, formatFindings, loadProviderSchema, typeError } from "../../stacks/schema-check.js";
import { exampleInventory, synth, type TfJson } from "./helpers.js";
import type { Inventory } from "../../src/inventory/schema.js";

const schema = loadProviderSchema();

function variant(edit: (inv: Inventory) => void): TfJson {
  const inv = exampleInventory();
  edit(inv);
  return synth(inv);
}

/** A copy of the stack with one resource (the first of `type`) edited. */
function mutate(tf: TfJson, type: string, edit: (body: Record<string, unknown>) => void): { tf: TfJson; id: string } {
  const copy = structuredClone(tf);
  const [id, body] = Object.entries(copy.resource[type]!)[0]!;
  edit(body);
  return { tf: copy, id };
}

describe("schema check", () => {
  const tf = synth(exampleInventory());

  it("finds nothing in the example stack", () => {
    expect(formatFindings(checkStack(tf, schema))).toBe("");
  });

  it("finds nothing in the other shapes: existing network, local proxy, no keystone, existing project, IPIP", () => {
    const shapes = [
      variant(
        (inv) =>
          (inv.openstack!.network = { existingNetwork: "nodes", existingSubnet: "nodes-v4", dnsNameservers: [] }),
      ),
      variant(
        (inv) =>
          (inv.openstack!.network = { existingNetwork: "0b0f8a56-7c5e-4bb2-9d31-6f1b5a1c2d3e", dnsNameservers: [] }),
      ),
      variant((inv) => (inv.openstack!.apiEndpoint = { type: "local-proxy", floatingIp: false, allowedCidrs: [] })),
      variant((inv) => delete inv.keystone),
      variant((inv) => (inv.keystone!.project.existing = true)),
      variant((inv) => (inv.networking.calico.encapsulation = "IPIP")),
    ];
    for (const s of shapes) expect(formatFindings(checkStack(s, schema))).toBe("");
  });

  it("catches a misspelled attribute", () => {
    const { tf: bad, id } = mutate(tf, "openstack_compute_instance_v2", (b) => {
      b.flavour_name = b.flavor_name;
      delete b.flavor_name;
    });
    expect(checkStack(bad, schema)).toEqual([
      expect.objectContaining({ kind: "unknown-attribute", at: `openstack_compute_instance_v2.${id}.flavour_name` }),
    ]);
  });

  it("catches a missing required attribute", () => {
    const { tf: bad, id } = mutate(tf, "openstack_lb_member_v2", (b) => delete b.protocol_port);
    expect(checkStack(bad, schema)).toEqual([
      expect.objectContaining({ kind: "missing-required", at: `openstack_lb_member_v2.${id}.protocol_port` }),
    ]);
  });

  it("catches a wrong type, inside a nested block too", () => {
    const { tf: bad, id } = mutate(tf, "openstack_lb_listener_v2", (b) => (b.protocol_port = "6443"));
    expect(checkStack(bad, schema)).toEqual([
      expect.objectContaining({ kind: "wrong-type", at: `openstack_lb_listener_v2.${id}.protocol_port` }),
    ]);
    const general = Object.keys(tf.resource.openstack_compute_instance_v2!).find((k) =>
      k.startsWith("compute_general-1_"),
    )!;
    const copy = structuredClone(tf);
    (copy.resource.openstack_compute_instance_v2![general]!.block_device as Record<string, unknown>[])[0]!.volume_size =
      "100";
    expect(checkStack(copy, schema)).toEqual([
      expect.objectContaining({
        kind: "wrong-type",
        at: `openstack_compute_instance_v2.${general}.block_device[0].volume_size`,
      }),
    ]);
  });

  it("catches a wrong block count and a wrong nesting", () => {
    const { tf: bad, id } = mutate(
      tf,
      "openstack_networking_port_v2",
      (b) => (b.binding = [{ vnic_type: "normal" }, { vnic_type: "direct" }]),
    );
    expect(checkStack(bad, schema)).toEqual([
      expect.objectContaining({ kind: "wrong-count", at: `openstack_networking_port_v2.${id}.binding` }),
    ]);
    const metal = Object.keys(tf.resource.openstack_compute_instance_v2!).find((k) =>
      k.startsWith("compute_metal-1_"),
    )!;
    const copy = structuredClone(tf);
    const server = copy.resource.openstack_compute_instance_v2![metal]!;
    server.timeouts = [server.timeouts];
    expect(checkStack(copy, schema)).toEqual([
      expect.objectContaining({ kind: "wrong-nesting", at: `openstack_compute_instance_v2.${metal}.timeouts` }),
    ]);
  });

  it("catches computed-only attributes and unknown types, and skips meta-arguments", () => {
    const { tf: bad, id } = mutate(tf, "openstack_networking_port_v2", (b) => {
      b.all_fixed_ips = ["192.168.10.10"];
      b.depends_on = ["x"];
      b.lifecycle = { prevent_destroy: true };
      b.count = 1;
    });
    bad.resource.openstack_compute_instance_v3 = { x: { name: "x" } };
    const findings = checkStack(bad, schema);
    expect(findings.map((f) => f.kind).sort()).toEqual(["computed-only", "unknown-type"]);
    expect(findings.find((f) => f.kind === "computed-only")!.at).toBe(
      `openstack_networking_port_v2.${id}.all_fixed_ips`,
    );
  });

  it("catches a resource naming a provider alias that is not declared", () => {
    const { tf: bad, id } = mutate(
      tf,
      "openstack_identity_application_credential_v3",
      (b) => (b.provider = "openstack.ccm"),
    );
    expect(checkStack(bad, schema)).toEqual([
      expect.objectContaining({
        kind: "unknown-provider",
        at: `openstack_identity_application_credential_v3.${id}.provider`,
      }),
    ]);
  });

  it("accepts Terraform references for any type and checks collections element-wise", () => {
    expect(typeError("number", "${var.x}")).toBeUndefined();
    expect(typeError(["list", "string"], "${local.l}")).toBeUndefined();
    expect(typeError(["set", "string"], ["a", 1])).toMatch(/\[1\]: expected a string/);
    expect(typeError(["map", "string"], { a: true })).toMatch(/expected a string/);
    expect(typeError("bool", "true")).toMatch(/expected a bool/);
  });
});
