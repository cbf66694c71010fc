/** The stack step finds out whether it can run (no network involved) and runs the right command lines. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { installedProvider, stackStep } from "../../src/rebuild/stack.js";

describe("stackStep", () => {
  let project = "";
  afterEach(() => rmSync(project, { recursive: true, force: true }));
  const setup = (provider: boolean) => {
    project = mkdtempSync(join(tmpdir(), "yagura-stack-step-"));
    const dir = join(project, "cdktf.out", "stacks", "prod");
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, "cdk.tf.json"),
      JSON.stringify({
        resource: {
          openstack_compute_instance_v2: { "compute_gen-1_ABC": {}, "compute_gen-10_DEF": {} },
          terraform_data: { "compute_gen-1-rebuild_123": {}, "compute_gen-10-rebuild_456": {} },
        },
      }),
    );
    if (provider)
      mkdirSync(join(dir, ".terraform/providers/registry.terraform.io/terraform-provider-openstack/openstack/3.4.0"), {
        recursive: true,
      });
    return dir;
  };
  const recorder = () => {
    const calls: string[] = [];
    return {
      calls,
      exec: async (argv: readonly string[]) => {
        calls.push(argv.join(" "));
        return "";
      },
    };
  };

  it("is skipped with the reason when no managed node is involved", async () => {
    setup(true);
    const r = recorder();
    const out = await stackStep("prod", "deploy", [], { projectDir: project, exec: r.exec });
    expect(out).toEqual({ kind: "skipped", message: expect.stringMatching(/no managed nodes/) });
    expect(r.calls).toEqual([]);
  });

  it("is skipped, naming where it looked, when no OpenStack provider is installed", async () => {
    const dir = setup(false);
    const r = recorder();
    const out = await stackStep("prod", "replace", ["gen-1"], { projectDir: project, exec: r.exec });
    expect(out.kind).toBe("skipped");
    expect(out.message).toMatch(/Terraform cannot reach the OpenStack provider here/);
    expect(out.message).toContain(join(dir, ".terraform"));
    expect(out.message).toMatch(/run `cdktf deploy prod`/);
    expect(r.calls).toEqual([]);
  });

  it("deploys with cdktf, and replaces exactly the named servers with a targeted terraform apply", async () => {
    const dir = setup(true);
    expect(installedProvider(dir, {})).toMatch(/terraform-provider-openstack\/openstack$/);
    const r = recorder();
    expect((await stackStep("prod", "deploy", ["gen-1"], { projectDir: project, exec: r.exec })).kind).toBe("done");
    await stackStep("prod", "replace", ["gen-1"], { projectDir: project, exec: r.exec });
    expect(r.calls).toEqual([
      "npx cdktf deploy prod --auto-approve",
      "npx cdktf synth",
      `terraform -chdir=${dir} apply -auto-approve -input=false -replace=openstack_compute_instance_v2.compute_gen-1_ABC ` +
        "-target=openstack_compute_instance_v2.compute_gen-1_ABC -target=terraform_data.compute_gen-1-rebuild_123",
    ]);
  });
});
