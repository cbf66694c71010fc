import { describe, expect, it } from "vitest";
import { replaceTargets } from "../../src/rebuild/stack.js";
import { exampleInventory, synth, type TfJson } from "./helpers.js";

/** Logical ids of resources (`type.id`) whose configuration differs between two syntheses. */
function changed(a: TfJson, b: TfJson): string[] {
  const out: string[] = [];
  const types = new Set([...Object.keys(a.resource), ...Object.keys(b.resource)]);
  for (const type of types) {
    const ra = a.resource[type] ?? {};
    const rb = b.resource[type] ?? {};
    for (const id of new Set([...Object.keys(ra), ...Object.keys(rb)])) {
      if (JSON.stringify(ra[id]) !== JSON.stringify(rb[id])) out.push(`${type}.${id}`);
    }
  }
  return out.sort();
}

describe("rebuild triggers", () => {
  const before = synth(exampleInventory());

  it("a node's rebuild token changes only that node's trigger", () => {
    const inv = exampleInventory();
    inv.nodePools[1]!.rebuildTokens = { "general-2": "2026-11-23" };
    const after = synth(inv);
    const diff = changed(before, after);
    expect(diff).toHaveLength(1);
    expect(diff[0]).toMatch(/^terraform_data\.compute_general-2-rebuild_[0-9A-F]+$/);
    const id = diff[0]!.split(".")[1]!;
    expect(after.resource.terraform_data![id]!.triggers_replace).toEqual({
      rebuildToken: "2026-11-23",
      image: "ubuntu-24.04",
      flavor: "m1.xlarge",
    });
    // The server is replaced through its trigger; its port (and address) is untouched.
    const server = Object.entries(after.resource.openstack_compute_instance_v2!).find(([k]) =>
      k.startsWith("compute_general-2_"),
    )![1];
    expect((server.lifecycle as { replace_triggered_by: string[] }).replace_triggered_by).toEqual([
      `terraform_data.${id}`,
    ]);
    expect(after.resource.openstack_networking_port_v2).toEqual(before.resource.openstack_networking_port_v2);
  });

  it("a pool's token, image or flavor changes the triggers of that pool's nodes only", () => {
    for (const edit of [
      (p: { rebuildToken: string }) => (p.rebuildToken = "r2"),
      (p: { image: string }) => (p.image = "ubuntu-26.04"),
      (p: { flavor: string }) => (p.flavor = "m1.2xlarge"),
    ]) {
      const inv = exampleInventory();
      edit(inv.nodePools[0]!);
      const diff = changed(before, synth(inv));
      const triggers = diff.filter((d) => d.startsWith("terraform_data."));
      expect(triggers.map((d) => d.replace(/_[0-9A-F]+$/, ""))).toEqual(
        ["cp-1", "cp-2", "cp-3"].map((n) => `terraform_data.compute_${n}-rebuild`),
      );
      expect(diff.filter((d) => d.startsWith("openstack_networking_port_v2."))).toEqual([]);
      // Only the servers' own image/flavor fields may change besides the triggers.
      for (const d of diff.filter((x) => !x.startsWith("terraform_data.")))
        expect(d).toMatch(/^openstack_compute_instance_v2\.compute_cp-\d_/);
    }
  });

  it("every server is replaced by its own trigger", () => {
    for (const [id, s] of Object.entries(before.resource.openstack_compute_instance_v2!)) {
      const node = id.replace(/^compute_/, "").replace(/_[0-9A-F]+$/, "");
      const triggers = (s.lifecycle as { replace_triggered_by: string[] }).replace_triggered_by;
      expect(triggers).toHaveLength(1);
      expect(triggers[0]).toMatch(new RegExp(`^terraform_data\\.compute_${node}-rebuild_[0-9A-F]+$`));
    }
  });

  it("apply's targeted replacement names exactly the server and trigger a token change replaces", () => {
    const inv = exampleInventory();
    inv.nodePools[1]!.rebuildTokens = { "general-2": "2026-11-23" };
    const after = synth(inv);
    const t = replaceTargets(after, ["general-2"]);
    const trigger = changed(before, after)[0]!;
    const server = t.replace[0]!;
    expect(t.replace).toEqual([expect.stringMatching(/^openstack_compute_instance_v2\.compute_general-2_[0-9A-F]+$/)]);
    expect(t.target).toEqual([server, trigger]);
    // The server's port is not a target: it (and the address) survives the replacement.
    const body = after.resource.openstack_compute_instance_v2![server.split(".")[1]!]!;
    const port = (body.network as { port: string }[])[0]!.port;
    expect(port).toMatch(/^\$\{openstack_networking_port_v2\.[^.]+\.id\}$/);
    expect(t.target.some((a) => a.startsWith("openstack_networking_port_v2."))).toBe(false);
    expect(() => replaceTargets(after, ["no-such-node"])).toThrow(/no server or rebuild trigger for no-such-node/);
  });
});
