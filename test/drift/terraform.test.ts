/**
 * Drift checks with the real terraform binary. Every run uses `-plugin-dir` on an empty directory,
 * so Terraform never contacts a registry: what it needs beyond its built-in provider is "not
 * installed", exactly what a machine without the OpenStack provider sees.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { checkDrift, formatDrift, planStack } from "../../src/drift/check.js";
import { driftExitCode } from "../../src/cli/drift.js";
import { requireSpec } from "../../src/cli/inventory.js";
import { firstError, classifyFailure } from "../../src/drift/terraform.js";
import { watchDriftOf } from "../../src/drift/watch.js";

const hasTerraform =
  spawnSync("terraform", ["version"], { env: { ...process.env, CHECKPOINT_DISABLE: "1" } }).status === 0;
const skip = hasTerraform ? undefined : "terraform drift tests skipped: no terraform binary on PATH";
if (skip) console.warn(skip);

const dirs: string[] = [];
const tmp = (p: string) => {
  const d = mkdtempSync(join(tmpdir(), p));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A stack directory holding one hand-written Terraform JSON configuration. */
function stackOf(config: object): string {
  const d = tmp("yg-drift-stack-");
  writeFileSync(join(d, "main.tf.json"), JSON.stringify(config));
  return d;
}

describe.skipIf(skip)("drift with the real terraform binary", () => {
  it("the real synthesized example stack: unknown, exit 6, with Terraform's first error, never no drift", async () => {
    const spec = requireSpec("example");
    const r = await checkDrift(spec, { stateRoot: tmp("yg-drift-state-"), pluginDir: tmp("yg-plugins-") });
    expect(r.kind).toBe("unknown");
    expect(driftExitCode(r)).toBe(6);
    if (r.kind !== "unknown") return;
    // The provider cannot be installed here. Terraform must get that far: a stack it rejects
    // (as it did when replace_triggered_by carried "${…}") would be a bug in stacks/.
    expect(r.reason).toBe("provider");
    expect(formatDrift(r)[0]).toMatch(
      /^unknown: the OpenStack provider is not installed\/reachable \(terraform init\): \S/,
    );
  });

  it("a stack that needs the OpenStack provider, not installed: unknown, provider, Terraform's first error line", async () => {
    const dir = stackOf({
      terraform: {
        required_providers: { openstack: { source: "terraform-provider-openstack/openstack", version: "3.4.0" } },
      },
      provider: { openstack: [{ region: "RegionOne" }] },
      resource: { openstack_networking_network_v2: { net: { name: "n" } } },
    });
    const r = await planStack(dir, undefined, { pluginDir: tmp("yg-plugins-") });
    expect(r).toMatchObject({ kind: "unknown", reason: "provider" });
    expect(formatDrift(r)[0]).toMatch(
      /^unknown: the OpenStack provider is not installed\/reachable \(terraform init\): .*terraform-provider-openstack\/openstack/,
    );
  });

  it("a configuration Terraform can plan offline: changes with the address, read back by terraform show -json", async () => {
    const dir = stackOf({ resource: { terraform_data: { marker: { input: "v1" } } } });
    const r = await planStack(dir, undefined, { pluginDir: tmp("yg-plugins-") });
    expect(r).toMatchObject({ kind: "changes", add: 1, change: 0, destroy: 0 });
    expect(formatDrift(r)).toEqual(["changes: 1 to add, 0 to change, 0 to destroy", "  create  terraform_data.marker"]);
    expect(driftExitCode(r)).toBe(5);
  });

  it("a new output alone is a change, and the report names it", async () => {
    const r = await planStack(stackOf({ output: { x: { value: "1" } } }), undefined, { pluginDir: tmp("yg-plugins-") });
    expect(r).toMatchObject({ kind: "changes", add: 0, outputs: ["x"] });
    expect(formatDrift(r)).toContain("  outputs that change: x");
  });

  it("an empty configuration: no changes, exit 0", async () => {
    const r = await planStack(stackOf({ locals: { a: "1" } }), undefined, { pluginDir: tmp("yg-plugins-") });
    expect(r.kind).toBe("none");
    expect(driftExitCode(r)).toBe(0);
  });

  it("the watch's drift check on the real stack: yagura_infra_drift -1 and a log line, nothing applied", async () => {
    const before = process.env.YAGURA_STATE_DIR;
    process.env.YAGURA_STATE_DIR = tmp("yg-drift-watch-");
    const gauge: number[] = [];
    const log: string[] = [];
    try {
      const w = watchDriftOf(
        requireSpec("example"),
        { intervalMs: 3_600_000, applyInfra: true, pluginDir: tmp("yg-plugins-") },
        (v) => gauge.push(v),
        (l) => log.push(l),
      );
      for (let i = 0; i < 600 && gauge.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
      await w!.stop();
    } finally {
      if (before === undefined) delete process.env.YAGURA_STATE_DIR;
      else process.env.YAGURA_STATE_DIR = before;
    }
    expect(gauge).toEqual([-1]);
    expect(log[0]).toMatch(/^infra drift of example: unknown: /);
    expect(log[1]).toBe("  not applying: whether the stack drifted is unknown");
    expect(log.some((l) => /cdktf deploy/.test(l))).toBe(false);
  });

  it("a missing terraform binary is unknown with the reason, not an exception", async () => {
    const r = await planStack(stackOf({}), undefined, { terraformBin: "/nonexistent/terraform" });
    expect(r).toMatchObject({ kind: "unknown", reason: "terraform-missing" });
  });
});

describe("firstError and classifyFailure", () => {
  const init = [
    "There are some problems with the CLI configuration:",
    "╷",
    "│ Warning: Unable to open CLI configuration file",
    "╵",
    "Initializing provider plugins...",
    '- Finding terraform-provider-openstack/openstack versions matching "3.4.0"...',
    "",
    "Error: Failed to query available provider packages",
    "",
    "Could not retrieve the list of available versions for provider",
    "terraform-provider-openstack/openstack: could not connect to",
    "registry.terraform.io: failed to request discovery document",
    "",
    "To see which modules are currently depending on …",
  ].join("\n");

  it("joins the first error's title with its first paragraph, skipping warnings", () => {
    expect(firstError(init)).toBe(
      "Failed to query available provider packages: Could not retrieve the list of available versions for provider terraform-provider-openstack/openstack: could not connect to registry.terraform.io: failed to request discovery document",
    );
    expect(firstError("all good")).toBeUndefined();
  });

  it.each([
    ["a registry that cannot be reached", init, "provider"],
    ["plan without credentials", "Error: One of 'auth_url' or 'cloud' must be specified", "provider"],
    [
      "a bad configuration",
      'Error: Invalid character\n\n  on cdk.tf.json line 304, in resource.x:\n 304: "${a}"',
      "config",
    ],
    ["anything else", "Error: Failed to load state: unsupported state format", "terraform"],
  ])("%s → %s", (_n, text, want) => expect(classifyFailure(text)).toBe(want));
});
