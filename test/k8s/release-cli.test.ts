/**
 * The command line with an inventory that names only the Kubernetes version and a release mirror on
 * loopback: `validate` and `render` need nothing from the mirror; `reconcile` reads the published
 * checksums first, so a mirror without the release stops it with exit 1 and one that accepts and
 * then hangs with exit 3, each naming the URL. (A whole reconcile from such a mirror is the add-ons
 * lab e2e's.)
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { COMPONENT_BINARIES } from "../../src/inventory/schema.js";
import { startReleaseServer, type ReleaseServer } from "../support/release-server.js";

const ROOT = resolve(import.meta.dirname, "../..");
const BIN = resolve(ROOT, "bin/yagura.mjs");
const VERSION = "1.33.5";

/** The CLI as a child process with its own state directory. */
function yagura(state: string, ...args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((res) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      env: { ...process.env, YAGURA_STATE_DIR: state, NODE_NO_WARNINGS: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    child.on("close", (code) => res({ code, out }));
  });
}

describe("an inventory with only the version and a release mirror", () => {
  const root = mkdtempSync(join(tmpdir(), "yagura-release-cli-"));
  const bins = join(root, "bin");
  let server: ReleaseServer;
  const file = join(root, "rel84.yaml");
  beforeAll(async () => {
    // Small stand-ins: these cases never get as far as a binary.
    mkdirSync(bins);
    for (const b of COMPONENT_BINARIES) writeFileSync(join(bins, b), `${b}\n`);
    server = await startReleaseServer(bins, VERSION);
    writeFileSync(
      file,
      [
        `cluster: { name: rel84, kubernetesVersion: "${VERSION}" }`,
        "lab: { bridge: ygbr84r, cidr: 10.84.9.0/24 }",
        "staticNodes:",
        "  - { name: cp1, address: 10.84.9.11, role: control-plane }",
        "networking: { cni: bridge }",
        `artifacts: { releaseUrl: "${server.url}" }`,
        "",
      ].join("\n"),
    );
  });
  afterAll(async () => {
    await server.close();
    rmSync(root, { recursive: true, force: true });
  });

  it("validate takes it, and inventory show names the release source", async () => {
    const v = await yagura(join(root, "s0"), "validate", file);
    expect(v.code, v.out).toBe(0);
    expect(v.out).toContain(`Kubernetes ${VERSION}`);
    const s = await yagura(join(root, "s0"), "inventory", "show", file, "--json");
    expect(s.code, s.out).toBe(0);
    expect(JSON.parse(s.out).inventory.artifacts).toMatchObject({ source: "release", releaseUrl: server.url });
  }, 120_000);

  it("render writes the node files for that version without touching the mirror", async () => {
    const before = [...server.requests.values()].reduce((a, b) => a + b, 0);
    const out = join(root, "render");
    const r = await yagura(join(root, "s1"), "render", file, "--out", out);
    expect(r.code, r.out).toBe(0);
    expect(readdirSync(join(out, "nodes"))).toEqual(["cp1"]);
    expect([...server.requests.values()].reduce((a, b) => a + b, 0)).toBe(before);
  }, 120_000);

  it("reconcile stops with exit 1 naming the URL when the mirror lacks the release", async () => {
    server.faults = { missing: ["kube-apiserver"] };
    const r = await yagura(join(root, "s2"), "reconcile", file);
    server.faults = {};
    expect(r.code, r.out).toBe(1);
    expect(r.out).toContain(`${server.url}/release/v${VERSION}/bin/linux/amd64/kube-apiserver.sha256 answered 404`);
    expect(r.out).not.toMatch(/internal error/);
  }, 120_000);

  it("reconcile fails with exit 3 naming the URL and what to try when the mirror hangs", async () => {
    writeFileSync(file, readFileSync(file, "utf8").replace("releaseUrl:", "downloadTimeout: 2s, releaseUrl:"));
    server.faults = { hang: ["kube-apiserver"] };
    const r = await yagura(join(root, "s3"), "reconcile", file);
    server.faults = {};
    expect(r.code, r.out).toBe(3);
    expect(r.out).toContain(
      `${server.url}/release/v${VERSION}/bin/linux/amd64/kube-apiserver.sha256: nothing arrived for 2 s`,
    );
    expect(r.out).toContain("raise artifacts.downloadTimeout");
  }, 120_000);
});
