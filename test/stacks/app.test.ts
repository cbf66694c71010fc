import { afterAll, describe, expect, it } from "vitest";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TerraformStack, Testing } from "cdktf";
import { buildApp, synthApp } from "../../stacks/app.js";
import { ClusterStack } from "../../stacks/cluster-stack.js";
import { InventoryInvalidError } from "../../stacks/errors.js";
import { checkStack } from "../../stacks/schema-check.js";
import { DEFAULT_INVENTORY_DIR } from "../../src/inventory/load.js";
import { byName, exampleInventory, resources, synth, testHostKeys, type TfJson } from "./helpers.js";

const tmp = mkdtempSync(join(tmpdir(), "yagura-stacks-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("app wiring", () => {
  it("synthesizes one stack per OpenStack environment of the repository and skips the lab", () => {
    const outdir = join(tmp, "cdktf.out");
    const { app, stacks } = buildApp({ outdir, stateRoot: join(tmp, "state") });
    expect(stacks).toEqual(["example"]);
    app.synth();
    const file = join(outdir, "stacks/example/cdk.tf.json");
    expect(existsSync(file)).toBe(true);
    expect(existsSync(join(outdir, "stacks/lab"))).toBe(false);
    expect(checkStack(JSON.parse(readFileSync(file, "utf8")))).toEqual([]);
  });

  it("synthApp writes the same stacks as cdktf synth would, with creation stacks restored afterwards", () => {
    const outdir = join(tmp, "synth-app");
    expect(synthApp({ outdir, stateRoot: join(tmp, "state") })).toEqual(["example"]);
    expect(existsSync(join(outdir, "stacks/example/cdk.tf.json"))).toBe(true);
    expect(new Error("x").stack).toMatch(/\n\s+at /); // stack traces work again outside synthesis
  });

  it("skipping cdktf's cross-stack preparation changes nothing in the output", () => {
    const skipped = new ClusterStack(Testing.app(), "example", {
      env: "example",
      inventory: exampleInventory(),
      hostKeys: testHostKeys(exampleInventory()),
    });
    skipped.prepareStack();
    const prepared = new ClusterStack(Testing.app(), "example", {
      env: "example",
      inventory: exampleInventory(),
      hostKeys: testHostKeys(exampleInventory()),
    });
    TerraformStack.prototype.prepareStack.call(prepared);
    expect(JSON.stringify(skipped.toTerraform())).toBe(JSON.stringify(prepared.toTerraform()));
  });

  it("fails with every inventory problem, located by file and line", () => {
    const dir = join(tmp, "inv");
    cpSync(DEFAULT_INVENTORY_DIR, dir, { recursive: true });
    const text = readFileSync(join(dir, "example.yaml"), "utf8").replace(
      "  region: RegionOne\n",
      "  region: RegionOne\n  regoin: typo\n",
    );
    writeFileSync(join(dir, "broken.yaml"), text);
    let err: unknown;
    try {
      buildApp({ inventoryDir: dir, outdir: join(tmp, "out2"), stateRoot: join(tmp, "state") });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InventoryInvalidError);
    const line = text.split("\n").findIndex((l) => l.includes("regoin")) + 1;
    expect((err as Error).message).toContain(`broken.yaml:${line}:`);
    expect((err as Error).message).toContain("regoin");
  });
});

/** Strings in the JSON that look like a credential rather than a reference to one. */
function credentialLike(tf: TfJson): string[] {
  const hits: string[] = [];
  const walk = (v: unknown, path: string) => {
    if (typeof v === "string") {
      const key = path.split(".").pop()!;
      const isRef = /^\$\{[^}]+\}$/.test(v);
      if (/password|secret|token$|_key$|^key$|admin_pass/i.test(key) && !isRef && key !== "rebuildToken")
        hits.push(path);
      if (/-----BEGIN|PRIVATE KEY/.test(v)) hits.push(path);
    } else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}[${i}]`));
    else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) walk(x, `${path}.${k}`);
  };
  walk(tf, "");
  return hits;
}

describe("identity and outputs", () => {
  const tf = synth(exampleInventory());

  it("configures the provider by cloud name, region and auth URL only; no credential anywhere", () => {
    const [main, ...aliases] = tf.provider.openstack;
    expect(main).toEqual({
      cloud: "example",
      region: "RegionOne",
      auth_url: "https://keystone.example.com:5000/v3",
      tenant_name: "k8s-example",
      project_domain_id: "default",
    });
    for (const a of aliases)
      expect(a.password === undefined || a.password === `\${var.${a.alias}_password}`).toBe(true);
    expect(credentialLike(tf)).toEqual([]);
    // The check itself can fail: a literal password is found.
    const leaked = structuredClone(tf);
    leaked.provider.openstack[0]!.password = "hunter2";
    expect(credentialLike(leaked)).toEqual([".provider.openstack[0].password"]);
  });

  it("gives each integration a dedicated user with least roles and an application credential", () => {
    const users = byName(tf, "openstack_identity_user_v3");
    expect(Object.keys(users).sort()).toEqual(["cinder-csi-user", "cloud-controller-manager-user"]);
    const assignments = Object.keys(byName(tf, "openstack_identity_role_assignment_v3")).sort();
    expect(assignments).toEqual([
      "cinder-csi-member",
      "cloud-controller-manager-load-balancer_member",
      "cloud-controller-manager-member",
      "deployer-load-balancer_member",
      "deployer-member",
    ]);
    const creds = byName(tf, "openstack_identity_application_credential_v3");
    expect(creds["cloud-controller-manager-credential"]).toMatchObject({
      roles: ["member", "load-balancer_member"],
      provider: "openstack.cloud_controller_manager",
    });
    expect(creds["cinder-csi-credential"]).toMatchObject({ roles: ["member"], provider: "openstack.cinder_csi" });
    expect(tf.output.cloud_controller_manager_credential).toMatchObject({
      sensitive: true,
      value: { id: expect.any(String), secret: expect.stringMatching(/\.secret\}$/) },
    });
    expect(tf.output.cinder_csi_credential!.sensitive).toBe(true);
  });

  it("drops load-balancer_member without an Octavia API and looks an existing project up", () => {
    const inv = exampleInventory();
    inv.openstack!.apiEndpoint = { type: "local-proxy", floatingIp: false, allowedCidrs: [] };
    inv.keystone!.project.existing = true;
    const t = synth(inv);
    expect(resources(t, "openstack_identity_project_v3")).toEqual({});
    expect(Object.keys(t.data.openstack_identity_project_v3 ?? {})).toHaveLength(1);
    expect(Object.keys(byName(t, "openstack_identity_role_assignment_v3")).sort()).toEqual([
      "cinder-csi-member",
      "cloud-controller-manager-member",
    ]);
    expect(resources(t, "openstack_lb_loadbalancer_v2")).toEqual({});
    expect(t.output.api_endpoint!.value).toEqual({ type: "local-proxy", address: "192.168.10.10", port: 6443 });
  });

  it("creates no identity without a keystone section", () => {
    const inv = exampleInventory();
    delete inv.keystone;
    const t = synth(inv);
    expect(t.provider.openstack).toEqual([
      { cloud: "example", region: "RegionOne", auth_url: "https://keystone.example.com:5000/v3" },
    ]);
    expect(Object.keys(t.resource).filter((k) => k.startsWith("openstack_identity_"))).toEqual([]);
    expect(Object.keys(t.output).sort()).toEqual(["api_endpoint", "nodes"]);
  });

  it("outputs every node and the API endpoint behind the load balancer's floating IP", () => {
    const nodes = tf.output.nodes!.value as Record<string, string>[];
    expect(nodes.map((n) => n.name)).toEqual([
      "cp-1",
      "cp-2",
      "cp-3",
      "general-1",
      "general-2",
      "general-3",
      "metal-1",
      "metal-2",
    ]);
    expect(nodes[6]).toEqual({
      name: "metal-1",
      pool: "metal",
      role: "worker",
      kind: "baremetal",
      address: "192.168.10.100",
      serverId: expect.stringMatching(/^\$\{openstack_compute_instance_v2\.compute_metal-1_[0-9A-F]+\.id\}$/),
      rebuildToken: "",
      image: expect.any(String),
      flavor: expect.any(String),
    });
    expect(tf.output.api_endpoint!.value).toEqual({
      type: "loadbalancer",
      address: expect.stringMatching(/floatingip_v2\..*\.address\}$/),
      port: 6443,
    });
    const members = byName(tf, "openstack_lb_member_v2");
    expect(
      Object.values(members)
        .map((m) => m.address)
        .sort(),
    ).toEqual(["192.168.10.10", "192.168.10.11", "192.168.10.12"]);
    expect(Object.values(resources(tf, "openstack_lb_monitor_v2"))[0]).toMatchObject({ type: "TCP" });
  });

  it("makes project-scoped resources wait for a project this stack creates", () => {
    const net = Object.values(resources(tf, "openstack_networking_network_v2"))[0]!;
    expect(net.depends_on).toEqual(expect.arrayContaining([expect.stringMatching(/^openstack_identity_project_v3\./)]));
    const inv = exampleInventory();
    inv.keystone!.project.existing = true;
    expect(Object.values(resources(synth(inv), "openstack_networking_network_v2"))[0]!.depends_on).toBeUndefined();
  });
});
