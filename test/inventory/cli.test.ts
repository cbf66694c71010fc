import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");
const BIN = resolve(ROOT, "bin/yagura.mjs");
const FIXTURES = resolve(ROOT, "test/fixtures/inventory");

/** Runs the real command line in a child process, as a user or a timer would. */
function yagura(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("yagura validate / inventory show", () => {
  it("validate lab exits 0 with a summary", () => {
    const r = yagura("validate", "lab");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^lab: valid$/m);
    expect(r.stdout).toMatch(/5 nodes \(3 control-plane, 2 worker/);
  });

  it("validate on an invalid file exits 1 with file:line:col: path: message and no stack trace", () => {
    const file = resolve(FIXTURES, "invalid-baremetal-etcd-volume.yaml");
    const r = yagura("validate", file);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    const lines = r.stderr.trim().split("\n");
    expect(lines[0]).toBe(`error: ${file}: 1 problem in the inventory`);
    expect(lines[1]).toMatch(
      new RegExp(
        `^${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:23:\\d+: nodePools\\[0\\]\\.volumes\\.etcd: .*Nova cannot attach Cinder volumes to an Ironic server`,
      ),
    );
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stderr).not.toMatch(/internal error/);
  });

  it("validate reports several problems, one line each", () => {
    const dir = mkdtempSync(join(tmpdir(), "yagura-cli-"));
    const file = join(dir, "two.yaml");
    writeFileSync(
      file,
      'cluster: { name: Two_Problems, kubernetesVersion: "1.33.5" }\nlab: {}\nstaticNodes:\n  - { name: n1, address: 10.77.0.300, role: control-plane }\nnetworking: { calico: { routeReflectors: { enabled: false } } }\n',
    );
    try {
      const r = yagura("validate", file);
      expect(r.code).toBe(1);
      const lines = r.stderr.trim().split("\n");
      expect(lines[0]).toBe(`error: ${file}: 2 problems in the inventory`);
      expect(lines.slice(1).map((l) => l.slice(file.length).split(": ")[0])).toEqual([":1:18", ":4:26"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("validate on a missing environment exits 1 and says how to fix it", () => {
    const r = yagura("validate", "no-such-env");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no such inventory file/);
  });

  it("inventory show example --json is JSON with the 8 expanded nodes", () => {
    const r = yagura("inventory", "show", "example", "--json");
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as { env: string; nodes: { name: string; address: string }[] };
    expect(doc.env).toBe("example");
    expect(doc.nodes).toHaveLength(8);
    expect(doc.nodes.map((n) => n.name)).toEqual([
      "cp-1",
      "cp-2",
      "cp-3",
      "general-1",
      "general-2",
      "general-3",
      "metal-1",
      "metal-2",
    ]);
    expect(doc.nodes[3]!.address).toBe("192.168.10.50");
  });

  it("validate --help shows an example", () => {
    const r = yagura("validate", "--help");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Examples?:\n\s+yagura validate lab/);
  });
});
