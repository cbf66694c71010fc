/**
 * The stack step finds out whether it can run (no network involved), runs the right command lines,
 * and hands the lent PKI directory to them as YAGURA_PKI_DIR (the stacks read host keys there).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { envPaths } from "../../src/cluster/paths.js";
import { installedProvider, PKI_DIR_VAR, runCommand, stackStep, type ExecEnv } from "../../src/rebuild/stack.js";

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
    const envs: ExecEnv[] = [];
    return {
      calls,
      envs,
      exec: async (argv: readonly string[], _cwd: string, env: ExecEnv) => {
        calls.push(argv.join(" "));
        envs.push(env);
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

  it("runs its commands while the PKI is lent, with the lent directory in YAGURA_PKI_DIR", async () => {
    setup(true);
    const r = recorder();
    const lent = mkdtempSync(join(tmpdir(), "yagura-lent-pki-"));
    const present: boolean[] = [];
    let lends = 0;
    const withPki = async <T>(fn: (dir: string) => Promise<T>): Promise<T> => {
      lends++;
      try {
        return await fn(lent);
      } finally {
        rmSync(lent, { recursive: true, force: true });
      }
    };
    const exec = async (argv: readonly string[], cwd: string, env: ExecEnv) => {
      present.push(existsSync(env[PKI_DIR_VAR]!));
      return r.exec(argv, cwd, env);
    };
    await stackStep("prod", "replace", ["gen-10"], { projectDir: project, exec, withPki });
    expect(PKI_DIR_VAR).toBe("YAGURA_PKI_DIR");
    expect(r.calls.map((c) => c.split(" ")[0])).toEqual(["npx", "terraform"]);
    const lentEnv = { YAGURA_PKI_DIR: lent, YAGURA_PKI_ENV: "prod" };
    expect(r.envs).toEqual([lentEnv, lentEnv]);
    // One lending for synth and apply alike, and both ran before it ended.
    expect(lends).toBe(1);
    expect(present).toEqual([true, true]);
    expect(existsSync(lent)).toBe(false);
  });

  it("without a lender, names the local PKI directory of the environment", async () => {
    setup(true);
    const r = recorder();
    await stackStep("prod", "deploy", ["gen-1"], { projectDir: project, exec: r.exec });
    expect(r.envs).toEqual([{ YAGURA_PKI_DIR: envPaths("prod").pkiDir, YAGURA_PKI_ENV: "prod" }]);
  });

  it("the default runner gives the variable to the child process", async () => {
    project = mkdtempSync(join(tmpdir(), "yagura-stack-run-"));
    const out = await runCommand(["sh", "-c", `printf '%s' "$${PKI_DIR_VAR}"`], project, {
      [PKI_DIR_VAR]: "/pki/lent here",
    });
    expect(out).toBe("/pki/lent here");
    await expect(runCommand(["sh", "-c", "echo boom; exit 3"], project)).rejects.toThrow(/exited 3: boom/);
  });
});
