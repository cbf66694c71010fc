#!/usr/bin/env node
// Generates the typed OpenStack bindings (.gen/) offline from stacks/openstack/provider-schema.json.
// `cdktf get` reads a pre-filled provider-schema cache instead of downloading the provider; the
// cache file name is the provider name plus the URL-encoded version constraint from cdktf.json.
// Skips the work when .gen/ was generated from the same schema (a stamp holds its sha256).
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const schema = join(root, "stacks/openstack/provider-schema.json");
const stamp = join(root, ".gen/.schema-sha256");
const force = process.argv.includes("--force");

const sha = createHash("sha256").update(readFileSync(schema)).digest("hex");
if (!force && existsSync(stamp) && readFileSync(stamp, "utf8").trim() === sha) {
  console.log("OpenStack bindings are up to date (.gen/)");
  process.exit(0);
}

const cdktf = JSON.parse(readFileSync(join(root, "cdktf.json"), "utf8"));
const provider = cdktf.terraformProviders[0]; // "terraform-provider-openstack/openstack@~> 3.4.0"
const [source, constraint] = provider.split("@");
const cacheName = `${source.split("/").pop()}@${encodeURIComponent(constraint)}.json`;

const cache = mkdtempSync(join(tmpdir(), "yagura-schema-"));
const tfrc = join(cache, "terraformrc");
try {
  copyFileSync(schema, join(cache, cacheName));
  writeFileSync(tfrc, ""); // an empty CLI config: no warning about a missing ~/.terraformrc
  console.log(`generating OpenStack bindings from ${cacheName} …`);
  rmSync(join(root, ".gen"), { recursive: true, force: true });
  execFileSync(join(root, "node_modules/.bin/cdktf"), ["get", "--experimental-provider-schema-cache-path", cache], {
    cwd: root,
    stdio: ["ignore", "ignore", "inherit"],
    env: { ...process.env, TF_CLI_CONFIG_FILE: tfrc, CHECKPOINT_DISABLE: "1", CI: "1", FORCE_COLOR: "0" },
  });
  // The generated code does not mark overrides; tsconfig's noImplicitOverride would reject it as soon
  // as a stack imports a binding. It is generated, not ours to type-check.
  for (const entry of readdirSync(join(root, ".gen"), { recursive: true })) {
    const file = join(root, ".gen", String(entry));
    if (!file.endsWith(".ts")) continue;
    const text = readFileSync(file, "utf8");
    if (!text.startsWith("// @ts-nocheck")) writeFileSync(file, "// @ts-nocheck\n" + text);
  }
  mkdirSync(dirname(stamp), { recursive: true });
  writeFileSync(stamp, sha + "\n");
  console.log("OpenStack bindings generated in .gen/");
} finally {
  rmSync(cache, { recursive: true, force: true });
}
