import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { COMPONENT_BINARIES, inventorySchema } from "../../src/inventory/schema.js";
import { runRules as validateInventory } from "../../src/inventory/rules/index.js";
import { localReleaseProblem, parseKubeVersionOutput, resolveLocalRelease } from "../../src/k8s/local-release.js";

const dir = mkdtempSync(join(tmpdir(), "yagura-local-release-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
// Stand-in binaries: shell scripts that report a version, each with its own content (so its own sha256).
for (const b of COMPONENT_BINARIES) {
  writeFileSync(join(dir, b), `#!/bin/sh\n# ${b}\necho "Kubernetes v1.24.0-alpha.1-lab"\n`);
  chmodSync(join(dir, b), 0o755);
}
const SHA_APISERVER = "a".repeat(64);

const inv = (extra: Record<string, unknown> = {}) =>
  inventorySchema.parse({
    cluster: { name: "t", kubernetesVersion: "local" },
    lab: {},
    staticNodes: [{ name: "n1", address: "10.77.0.11", role: "control-plane" }],
    networking: { cni: "bridge" },
    artifacts: { source: "local" },
    ...extra,
  });

describe("cluster.kubernetesVersion: local", () => {
  it("reads the release from the local kube-apiserver and pins every unpinned binary to its file", () => {
    const r = resolveLocalRelease(
      inv({
        artifacts: {
          source: "local",
          binaries: { "kube-apiserver": { version: "1.24.0-alpha.1-lab", sha256: SHA_APISERVER } },
        },
      }),
      { YAGURA_KUBE_BIN_DIR: dir },
    );
    expect(r.cluster.kubernetesVersion).toBe("1.24.0-alpha.1-lab");
    // The inventory's own pin wins (a mismatch is then reported, not papered over).
    expect(r.artifacts.binaries["kube-apiserver"]!.sha256).toBe(SHA_APISERVER);
    for (const b of COMPONENT_BINARIES.filter((b) => b !== "kube-apiserver")) {
      expect(r.artifacts.binaries[b]).toEqual({
        version: "1.24.0-alpha.1-lab",
        sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      });
    }
    expect(new Set(Object.values(r.artifacts.binaries).map((b) => b.sha256)).size).toBe(COMPONENT_BINARIES.length);
    expect(validateInventory(r)).toEqual([]);
  });

  it("artifacts.localDir serves when YAGURA_KUBE_BIN_DIR is not set", () => {
    expect(
      resolveLocalRelease(inv({ artifacts: { source: "local", localDir: dir } }), {}).cluster.kubernetesVersion,
    ).toBe("1.24.0-alpha.1-lab");
  });

  it("without binaries the inventory stays as written, and the problem says what to set", () => {
    const i = inv();
    expect(resolveLocalRelease(i, {})).toBe(i);
    expect(localReleaseProblem(i, {})).toMatch(/set YAGURA_KUBE_BIN_DIR \(or artifacts.localDir\)/);
    expect(resolveLocalRelease(i, { YAGURA_KUBE_BIN_DIR: join(dir, "nope") })).toBe(i);
    expect(localReleaseProblem(i, { YAGURA_KUBE_BIN_DIR: join(dir, "nope") })).toMatch(
      /nope\/kube-apiserver does not report a version/,
    );
  });

  it("a written release is left alone, and local needs artifacts.source local", () => {
    const written = inv({ cluster: { name: "t", kubernetesVersion: "1.33.5" } });
    expect(resolveLocalRelease(written, { YAGURA_KUBE_BIN_DIR: dir })).toBe(written);
    expect(validateInventory(inv())).toEqual([]);
    const mirror = inv({ artifacts: { source: "mirror", mirrorUrl: "https://mirror.example.com/k8s" } });
    expect(
      validateInventory(mirror)
        .map((f) => f.message)
        .join("\n"),
    ).toMatch(/kubernetesVersion local takes the release from local binaries/);
  });

  it.each([
    ["Kubernetes v1.33.5\n", "1.33.5"],
    ["Kubernetes v1.24.0-alpha.1-lab", "1.24.0-alpha.1-lab"],
    ["Kubernetes v1.30.0+k3s1", "1.30.0+k3s1"],
    ["etcd Version: 3.4.23", undefined],
  ])("reads %j as %s", (out, want) => {
    expect(parseKubeVersionOutput(out)).toBe(want);
  });
});
