import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { rankOf } from "../../src/addons/objects.js";
import { renderEnvironment } from "../../src/cli/render.js";
import { clusterSpec } from "../../src/cluster/spec.js";
import { loadInventory } from "../../src/inventory/load.js";

const BIN = resolve(import.meta.dirname, "../../bin/yagura.mjs");
const run = promisify(execFile);

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)],
  );
}

describe("yagura render example --out DIR", () => {
  it("writes every cluster object in rank order and every node file, with secrets redacted", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "yagura-render-")), "example");
    const { stdout } = await run(process.execPath, [BIN, "render", "example", "--out", out], {
      env: { ...process.env, YAGURA_STACK_OUTPUTS: "" },
    });
    expect(stdout).toMatch(/^wrote \d+ cluster objects and \d+ node files to /);

    const cluster = readdirSync(join(out, "cluster"));
    expect(cluster.length).toBeGreaterThan(40);
    expect(cluster.at(-1)).toBe("999-core-ConfigMap-kube-system-yagura-managed.yaml");
    const prefixes = cluster.slice(0, -1).map((f) => Number(f.slice(0, 3)));
    expect(prefixes).toEqual([...prefixes].sort((a, b) => a - b));
    for (const f of cluster.slice(0, -1)) {
      const o = parse(readFileSync(join(out, "cluster", f), "utf8")) as { kind: string };
      expect(Number(f.slice(0, 3)), f).toBe(rankOf(o.kind));
    }
    expect(cluster).toContain("040-rbac.authorization.k8s.io-ClusterRole-tigera-operator.yaml");
    const cloud = readFileSync(join(out, "cluster", "060-core-Secret-kube-system-cloud-config.yaml"), "utf8");
    expect(cloud).toContain("application-credential-secret=REDACTED-by-yagura-render");

    const nodes = readdirSync(join(out, "nodes")).sort();
    expect(nodes).toEqual(["cp-1", "cp-2", "cp-3", "general-1", "general-2", "general-3", "metal-1", "metal-2"]);
    const files = walk(join(out, "nodes"));
    expect(files.some((f) => f.includes("/cp-1/") && f.endsWith("kube-apiserver.service"))).toBe(true);
    for (const f of files) {
      const text = readFileSync(f, "utf8");
      expect(text, f).not.toMatch(/PRIVATE KEY/);
      if (text.startsWith("REDACTED")) expect(statSync(f).mode & 0o077, f).toBe(0);
    }
    expect(files.map((f) => readFileSync(f, "utf8")).join("\n")).toContain("REDACTED-by-yagura-render");

    // A second render replaces the first; a directory holding anything else is refused.
    const res = loadInventory("example");
    if (!res.ok) throw new Error("example inventory is invalid");
    const spec = clusterSpec(res.env, res.inventory);
    await renderEnvironment(spec, res.file, out);
    expect(readdirSync(join(out, "cluster"))).toEqual(cluster);
    writeFileSync(join(out, "notes.txt"), "mine");
    await expect(renderEnvironment(spec, res.file, out)).rejects.toThrow(/holds files yagura render did not write/);
  }, 60_000);

  it("has --help with an example", async () => {
    const { stdout } = await run(process.execPath, [BIN, "render", "--help"]);
    expect(stdout).toContain("yagura render example --out rendered/example");
  });
});
