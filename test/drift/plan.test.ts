/**
 * The plan reader, table-tested on `terraform show -json` plan documents written by hand for these
 * tests (trimmed to the fields yagura reads, in the shape Terraform 1.x prints: format_version,
 * resource_changes[].{address, mode, change.actions}, resource_drift).
 */
import { describe, expect, it } from "vitest";
import { actionOf, parsePlanLine, summarizePlan } from "../../src/drift/plan.js";
import { formatDrift, verdict, driftGauge } from "../../src/drift/check.js";

const rc = (address: string, actions: string[], mode = "managed") => ({
  address,
  mode,
  type: address.split(".")[0],
  name: address.split(".")[1],
  provider_name: "registry.terraform.io/terraform-provider-openstack/openstack",
  change: { actions, before: null, after: {} },
});

const doc = (changes: unknown[], drift: unknown[] = []) => ({
  format_version: "1.2",
  terraform_version: "1.11.4",
  resource_changes: changes,
  resource_drift: drift,
});

describe("summarizePlan", () => {
  const table: [string, unknown, { add: number; change: number; destroy: number; forget: number; n: number }][] = [
    ["an empty plan", doc([]), { add: 0, change: 0, destroy: 0, forget: 0, n: 0 }],
    [
      "only no-ops and a data source read",
      doc([
        rc("openstack_compute_instance_v2.cp1", ["no-op"]),
        rc("data.openstack_images_image_v2.img", ["read"], "data"),
      ]),
      { add: 0, change: 0, destroy: 0, forget: 0, n: 0 },
    ],
    [
      "a server created, a port updated, a volume destroyed",
      doc([
        rc("openstack_compute_instance_v2.w4", ["create"]),
        rc("openstack_networking_port_v2.w1", ["update"]),
        rc("openstack_blockstorage_volume_v3.etcd3", ["delete"]),
      ]),
      { add: 1, change: 1, destroy: 1, forget: 0, n: 3 },
    ],
    [
      "a replacement counts as one add and one destroy (both orders)",
      doc([
        rc("openstack_compute_instance_v2.cp2", ["delete", "create"]),
        rc("openstack_networking_secgroup_v2.api", ["create", "delete"]),
      ]),
      { add: 2, change: 0, destroy: 2, forget: 0, n: 2 },
    ],
    [
      "a removed block's forget",
      doc([rc("openstack_compute_instance_v2.old", ["forget"])]),
      { add: 0, change: 0, destroy: 0, forget: 1, n: 1 },
    ],
  ];
  it.each(table)("%s", (_name, d, want) => {
    const s = summarizePlan(d);
    expect({ add: s.add, change: s.change, destroy: s.destroy, forget: s.forget, n: s.resources.length }).toEqual(want);
  });

  it("keeps addresses and actions in the plan's order, and lists what changed outside Terraform", () => {
    const s = summarizePlan(
      doc(
        [
          rc("openstack_compute_instance_v2.cp2", ["delete", "create"]),
          rc("openstack_networking_port_v2.p", ["update"]),
        ],
        [rc("openstack_networking_port_v2.p", ["update"]), rc("openstack_compute_instance_v2.cp1", ["no-op"])],
      ),
    );
    expect(s.resources).toEqual([
      { address: "openstack_compute_instance_v2.cp2", action: "replace" },
      { address: "openstack_networking_port_v2.p", action: "update" },
    ]);
    expect(s.driftedOutside).toEqual(["openstack_networking_port_v2.p"]);
  });

  it.each([
    ["not an object", "Plan: 1 to add"],
    ["no format_version (terraform plan's text, or a state file)", { resources: [] }],
    ["resource_changes not a list", { format_version: "1.2", resource_changes: {} }],
    ["a change without actions", { format_version: "1.2", resource_changes: [{ address: "a.b", change: {} }] }],
  ])("rejects a document that is not a plan: %s", (_n, d) => {
    expect(() => summarizePlan(d)).toThrow(/not a terraform plan document/);
  });
});

describe("actionOf and parsePlanLine", () => {
  it.each([
    [["create"], "create"],
    [["update"], "update"],
    [["delete"], "delete"],
    [["delete", "create"], "replace"],
    [["no-op"], undefined],
    [["read"], undefined],
  ])("%j is %s", (a, want) => expect(actionOf(a)).toBe(want));

  it("reads terraform plan's summary line, and nothing from text without one", () => {
    expect(parsePlanLine("…\nPlan: 3 to add, 1 to change, 2 to destroy.\n")).toEqual({ add: 3, change: 1, destroy: 2 });
    expect(parsePlanLine("No changes. Your infrastructure matches the configuration.")).toBeUndefined();
  });
});

describe("the report", () => {
  it("says no changes, changes with counts and addresses, or unknown with the reason; the gauge follows", () => {
    const changes = { kind: "changes" as const, stackDir: "s", ...summarizePlan(doc([rc("a_b.c", ["create"])])) };
    expect(verdict({ kind: "none", stackDir: "s" })).toMatch(/^no changes/);
    expect(formatDrift(changes)).toEqual(["changes: 1 to add, 0 to change, 0 to destroy", "  create  a_b.c"]);
    const unknown = { kind: "unknown" as const, reason: "provider" as const, message: "the OpenStack provider is x" };
    expect(verdict(unknown)).toBe("unknown: the OpenStack provider is x");
    expect([changes, { kind: "none" as const, stackDir: "s" }, unknown].map(driftGauge)).toEqual([1, 0, -1]);
  });
});
