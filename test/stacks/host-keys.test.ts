/**
 * Issued SSH host keys through the stack: only the public halves and a sensitive variable in the
 * synthesized configuration, the private keys in a 0600 tfvars file beside it, and (with the real
 * terraform binary, offline) user data that Terraform renders into the node's own key.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { synthApp } from "../../stacks/app.js";
import { HOST_KEYS_TFVARS, HOST_KEYS_VARIABLE, hostKeysDir, PKI_DIR_VAR, PKI_ENV_VAR } from "../../stacks/host-keys.js";
import { envPaths } from "../../src/cluster/paths.js";
import { readHostKey } from "../../src/pki/host-keys.js";
import { byName, type TfJson } from "./helpers.js";

const tmp = mkdtempSync(join(tmpdir(), "yagura-stack-hostkeys-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const hasTerraform =
  spawnSync("terraform", ["version"], { env: { ...process.env, CHECKPOINT_DISABLE: "1" } }).status === 0;
if (!hasTerraform) console.warn("stack host-key rendering by terraform skipped: no terraform binary on PATH");

describe("issued host keys in the synthesized stack", () => {
  const stateRoot = join(tmp, "state");
  const outdir = join(tmp, "out");
  synthApp({ outdir, stateRoot });
  const dir = join(outdir, "stacks", "example");
  const text = readFileSync(join(dir, "cdk.tf.json"), "utf8");
  const tf = JSON.parse(text) as TfJson;
  const servers = byName(tf, "openstack_compute_instance_v2");
  const pki = envPaths("example", stateRoot).pkiDir;

  it("keeps private keys out of the configuration: a sensitive variable, filled from a 0600 file beside it", () => {
    expect(text).not.toMatch(/PRIVATE KEY/);
    expect(tf.variable?.[HOST_KEYS_VARIABLE]).toMatchObject({ type: "map(string)", sensitive: true });
    const vars = join(dir, HOST_KEYS_TFVARS);
    expect(statSync(vars).mode & 0o777).toBe(0o600);
    const value = (JSON.parse(readFileSync(vars, "utf8")) as Record<string, Record<string, string>>)[
      HOST_KEYS_VARIABLE
    ]!;
    expect(Object.keys(value).sort()).toEqual(Object.keys(servers).sort());
    for (const [node, key] of Object.entries(value)) expect(key).toBe(readHostKey(pki, node)!.privateKey);
  });

  it("gives every server its own key's public half and ignores later user-data changes", () => {
    for (const [node, body] of Object.entries(servers)) {
      const ud = String(body.user_data);
      expect(ud).toContain(`ed25519_private: \${jsonencode(var.${HOST_KEYS_VARIABLE}["${node}"])}`);
      expect(ud).toContain(`ed25519_public: ${JSON.stringify(readHostKey(pki, node)!.publicKey)}`);
      expect((body.lifecycle as { ignore_changes: string[] }).ignore_changes).toEqual(["user_data"]);
    }
  });

  it("a second synth reuses the issued keys: the configuration is byte for byte the same", () => {
    const again = join(tmp, "out2");
    synthApp({ outdir: again, stateRoot });
    expect(readFileSync(join(again, "stacks", "example", "cdk.tf.json"), "utf8")).toBe(text);
    expect(readFileSync(join(again, "stacks", "example", HOST_KEYS_TFVARS), "utf8")).toBe(
      readFileSync(join(dir, HOST_KEYS_TFVARS), "utf8"),
    );
  });

  it.skipIf(!hasTerraform)(
    "terraform renders a worker's user data into cloud-config with that node's key",
    () => {
      // A configuration with only the variable and the worker's user data as an output: terraform
      // needs no provider for it, so it runs here offline with an empty plugin directory.
      const node = Object.keys(servers).find((n) => !String(servers[n]!.user_data).includes("var-lib-etcd"))!;
      const work = mkdtempSync(join(tmp, "tf-"));
      const plugins = mkdtempSync(join(tmp, "plugins-"));
      writeFileSync(
        join(work, "main.tf.json"),
        JSON.stringify({
          variable: { [HOST_KEYS_VARIABLE]: tf.variable![HOST_KEYS_VARIABLE] },
          output: { user_data: { value: servers[node]!.user_data, sensitive: true } },
        }),
      );
      copyFileSync(join(dir, HOST_KEYS_TFVARS), join(work, HOST_KEYS_TFVARS));
      const env = { ...process.env, CHECKPOINT_DISABLE: "1", TF_IN_AUTOMATION: "1", TF_INPUT: "0" };
      const tfRun = (...args: string[]) => {
        const r = spawnSync("terraform", [`-chdir=${work}`, ...args], { env, encoding: "utf8" });
        expect(r.status, r.stdout + r.stderr).toBe(0);
        return r.stdout;
      };
      tfRun("init", `-plugin-dir=${plugins}`, "-backend=false");
      const plan = tfRun("plan", "-no-color");
      expect(plan).not.toMatch(/PRIVATE KEY/); // the variable is sensitive: plans never show the key
      tfRun("apply", "-auto-approve", "-no-color");
      const doc = parse(tfRun("output", "-raw", "user_data")) as { ssh_keys: Record<string, string> };
      const issued = readHostKey(pki, node)!;
      expect(doc.ssh_keys).toEqual({ ed25519_private: issued.privateKey, ed25519_public: issued.publicKey });
      const keyFile = join(work, "key");
      writeFileSync(keyFile, doc.ssh_keys.ed25519_private!, { mode: 0o600 });
      const pub = spawnSync("ssh-keygen", ["-y", "-f", keyFile], { encoding: "utf8" });
      expect(pub.stdout.trim()).toBe(`${issued.publicKey.split(" ").slice(0, 2).join(" ")} ${node}`);
    },
    60_000,
  );

  it("reads a lent PKI directory only for the environment it was lent for", () => {
    const lent = { [PKI_DIR_VAR]: "/lent/pki", [PKI_ENV_VAR]: "prod" };
    expect(hostKeysDir("prod", { processEnv: lent, stateRoot })).toBe("/lent/pki");
    expect(hostKeysDir("example", { processEnv: lent, stateRoot })).toBe(pki);
    expect(() => hostKeysDir("prod", { processEnv: { [PKI_DIR_VAR]: "/lent/pki" } })).toThrow(PKI_ENV_VAR);
  });
});
