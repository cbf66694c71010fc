import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  artifactCheckCommand,
  artifactProblem,
  parseArtifactCheck,
  planArtifacts,
  type ArtifactPlan,
} from "../../src/k8s/artifacts.js";
import { inventorySchema } from "../../src/inventory/schema.js";
import { sha256 } from "../../src/supervisor/fingerprint.js";

const SHA = "d".repeat(64);
const all = Object.fromEntries(
  ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy"].map((n) => [
    n,
    { version: "v1.33.5", sha256: SHA },
  ]),
);
const artifacts = (a: Record<string, unknown>) =>
  inventorySchema.parse({ cluster: { name: "c", kubernetesVersion: "v1.33.5" }, artifacts: { binaries: all, ...a } })
    .artifacts;
const kubelet = (r: ReturnType<typeof planArtifacts>) => {
  if (!r.ok) throw new Error(r.problems.join("; "));
  return r.plans.find((p) => p.name === "kubelet")!;
};

describe("planArtifacts", () => {
  it.each([
    ["image", { source: "image" }, {}, { kind: "image" }],
    [
      "local dir",
      { source: "local", localDir: "/srv/bin" },
      {},
      { kind: "local", path: "/srv/bin/kubelet", via: "artifacts.localDir" },
    ],
    [
      "env beats localDir",
      { source: "local", localDir: "/srv/bin" },
      { YAGURA_KUBE_BIN_DIR: "/x" },
      { kind: "local", path: "/x/kubelet", via: "YAGURA_KUBE_BIN_DIR" },
    ],
    [
      "mirror",
      { source: "mirror", mirrorUrl: "https://m.example/k8s/" },
      {},
      { kind: "mirror", url: "https://m.example/k8s/v1.33.5/kubelet" },
    ],
  ])("%s", (_name, a, env, origin) => {
    const p = kubelet(planArtifacts(artifacts(a), env));
    expect(p.origin).toEqual(origin);
    expect(p.nodePath).toBe("/opt/yagura/bin/kubelet");
    expect(p.sha256).toBe(SHA);
  });

  it("reports every problem at once", () => {
    const inv = inventorySchema.parse({
      cluster: { name: "c", kubernetesVersion: "v1.33.5" },
      artifacts: { source: "local", binaries: { kubelet: { version: "v1.33.5", sha256: "ABC" } } },
    });
    const r = planArtifacts(inv.artifacts, {});
    expect(r.ok).toBe(false);
    const problems = r.ok ? [] : r.problems;
    expect(problems.some((p) => p.includes("YAGURA_KUBE_BIN_DIR"))).toBe(true);
    expect(problems.some((p) => p.includes("artifacts.binaries.kube-proxy is missing"))).toBe(true);
    expect(problems.some((p) => p.includes("artifacts.binaries.kubelet.sha256"))).toBe(true);
  });
});

describe("artifact check on a real sh", () => {
  const dir = mkdtempSync(join(tmpdir(), "yagura-art-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "it's kubelet");
  writeFileSync(file, "binary");
  chmodSync(file, 0o755);
  const sums = join(dir, "sums");
  const run = (p: Pick<ArtifactPlan, "nodePath" | "sha256">) =>
    execFileSync("sh", ["-c", artifactCheckCommand(p, sums)], { encoding: "utf8" });

  it.each([
    ["right checksum", file, sha256("binary"), { state: "ok" }],
    ["missing file", join(dir, "nope"), sha256("binary"), { state: "missing" }],
    ["wrong checksum", file, SHA, { state: "mismatch", actual: sha256("binary") }],
  ])("%s", (_n, nodePath, want, verdict) => {
    expect(parseArtifactCheck(run({ nodePath, sha256: want }))).toEqual(verdict);
  });

  it("hashes a file once while it stays the same, and again after any change to it", () => {
    const f = join(dir, "kube-proxy");
    writeFileSync(f, "v1");
    const rec = join(sums, f.replace(/\//g, "_"));
    expect(parseArtifactCheck(run({ nodePath: f, sha256: sha256("v1") }))).toEqual({ state: "ok" });
    expect(readFileSync(rec, "utf8")).toMatch(new RegExp(`^${sha256("v1")} 2 \\d+ `));
    // The record is what the next check believes while the file keeps its identity: a record that
    // says another digest proves the file was not read again.
    writeFileSync(rec, readFileSync(rec, "utf8").replace(sha256("v1"), SHA));
    expect(parseArtifactCheck(run({ nodePath: f, sha256: SHA }))).toEqual({ state: "ok" });
    // Rewritten in place with the same size: its ctime moves, so it is hashed again.
    writeFileSync(f, "v2");
    expect(parseArtifactCheck(run({ nodePath: f, sha256: SHA }))).toEqual({ state: "mismatch", actual: sha256("v2") });
    // Replaced (new inode), as an install does.
    writeFileSync(`${f}.new`, "v3");
    renameSync(`${f}.new`, f);
    expect(parseArtifactCheck(run({ nodePath: f, sha256: sha256("v3") }))).toEqual({ state: "ok" });
    // A damaged record is not trusted.
    writeFileSync(rec, `garbage ${readFileSync(rec, "utf8").split(" ").slice(1).join(" ")}`);
    expect(parseArtifactCheck(run({ nodePath: f, sha256: sha256("v3") }))).toEqual({ state: "ok" });
    expect(readFileSync(rec, "utf8").startsWith(sha256("v3"))).toBe(true);
  });

  it("rejects output it does not understand", () => {
    expect(() => parseArtifactCheck("sh: sha256sum: not found")).toThrow(/unexpected artifact check output/);
  });
});

describe("artifactProblem", () => {
  const plan = kubelet(planArtifacts(artifacts({ source: "mirror", mirrorUrl: "https://m.example/k8s" }), {}));
  it("names the file, the checksum and the setting", () => {
    const m = artifactProblem("bm-1", plan, { state: "mismatch", actual: "0".repeat(64) })!;
    expect(m).toContain("/opt/yagura/bin/kubelet on bm-1");
    expect(m).toContain(`sha256 ${SHA}`);
    expect(m).toContain("artifacts.mirrorUrl");
    expect(m).toContain("artifacts.binaries.kubelet.sha256");
    expect(artifactProblem("bm-1", plan, { state: "missing" })).toContain("is missing on bm-1");
    expect(artifactProblem("bm-1", plan, { state: "ok" })).toBeUndefined();
  });
});
