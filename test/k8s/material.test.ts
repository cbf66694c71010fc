import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { clusterSpec } from "../../src/cluster/spec.js";
import { inventorySchema } from "../../src/inventory/schema.js";
import { K8S_CERT } from "../../src/k8s/certs.js";
import { K8S } from "../../src/k8s/layout.js";
import { ENCRYPTION_KEY_FILE } from "../../src/pki/index.js";
import { prepareMaterial } from "../../src/run/material.js";

const dir = mkdtempSync(join(tmpdir(), "yagura-material-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const bin = join(dir, "bin");
mkdirSync(bin);
writeFileSync(join(bin, "kubelet"), "a real file standing in for the kubelet\n");
const sha = (p: string) => createHash("sha256").update(readFileSync(p)).digest("hex");
const v = "v1.33.5";
const spec = clusterSpec(
  "m",
  inventorySchema.parse({
    cluster: { name: "m", kubernetesVersion: "1.33.5" },
    staticNodes: [
      { name: "cp1", address: "10.87.0.11", role: "control-plane" },
      { name: "w1", address: "10.87.0.21", role: "worker" },
    ],
    artifacts: {
      source: "local",
      binaries: {
        "kube-apiserver": { version: v, sha256: "a".repeat(64) },
        "kube-controller-manager": { version: v, sha256: "b".repeat(64) },
        "kube-scheduler": { version: v, sha256: "c".repeat(64) },
        kubelet: { version: v, sha256: sha(join(bin, "kubelet")) },
        "kube-proxy": { version: v, sha256: "e".repeat(64) },
      },
    },
  }),
);
const now = new Date("2026-03-01T00:00:00Z");
const HOUR = 3_600_000;

describe("prepareMaterial", () => {
  it("scope etcd prepares nothing of Kubernetes", async () => {
    const pki = join(dir, "etcd-only");
    const m = await prepareMaterial(spec, pki, now, { scope: "etcd", env: {} });
    expect(m.desired.k8s).toBeUndefined();
    expect(m.kube).toBeUndefined();
    expect(existsSync(join(pki, "kubernetes-ca.crt"))).toBe(false);
    expect(existsSync(join(pki, ENCRYPTION_KEY_FILE))).toBe(false);
  });

  const pki = join(dir, "all");
  it("scope all: every node's files, keys 0600, the admin endpoint, local binaries checked", async () => {
    const m = await prepareMaterial(spec, pki, now, { env: { YAGURA_KUBE_BIN_DIR: bin } });
    const k = m.desired.k8s!;
    expect(Object.keys(k.nodes)).toEqual(["cp1", "w1"]);
    expect(k.nodes.cp1!.components.map((c) => c.name)).toEqual([
      "kube-apiserver",
      "kube-controller-manager",
      "kube-scheduler",
      "kubelet",
      "kube-proxy",
    ]);
    expect(k.nodes.w1!.artifacts.map((a) => a.name)).toEqual(["kubelet", "kube-proxy"]);
    for (const f of [...k.nodes.cp1!.certs, ...k.nodes.cp1!.components.flatMap((c) => c.files)])
      if (/\.key$|encryption/.test(f.path)) expect([f.path, f.mode, f.secret]).toEqual([f.path, 0o600, true]);
    expect(k.nodes.w1!.certs.map((f) => f.path)).not.toContain(K8S.saKey);
    // Only the kubelet is in the local directory with its real sha256.
    expect(Object.keys(k.artifacts.localProblems).sort()).toEqual([
      "kube-apiserver",
      "kube-controller-manager",
      "kube-proxy",
      "kube-scheduler",
    ]);
    expect(k.artifacts.localProblems["kube-proxy"]).toMatch(
      /kube-proxy does not exist on this machine.*YAGURA_KUBE_BIN_DIR/,
    );
    expect(m.kube!.server).toBe("https://10.87.0.11:6443");
    expect(statSync(join(pki, ENCRYPTION_KEY_FILE)).mode & 0o777).toBe(0o600);
    expect(statSync(join(pki, "sa.key")).mode & 0o777).toBe(0o600);
    // The apiserver's serving certificate verifies against the cluster CA and names loopback.
    const crt = join(pki, `${K8S_CERT.apiserver("cp1")}.crt`);
    expect(execFileSync("openssl", ["verify", "-CAfile", join(pki, "kubernetes-ca.crt"), crt]).toString()).toMatch(
      /OK/,
    );
    expect(execFileSync("openssl", ["x509", "-in", crt, "-noout", "-ext", "subjectAltName"]).toString()).toMatch(
      /IP Address:127\.0\.0\.1/,
    );
  });

  it("the encryption key is generated once; the one-day admin certificate renews past half its life", async () => {
    const key = readFileSync(join(pki, ENCRYPTION_KEY_FILE), "utf8");
    const a = await prepareMaterial(spec, pki, new Date(now.getTime() + HOUR), { env: {} });
    const b = await prepareMaterial(spec, pki, new Date(now.getTime() + 2 * HOUR), { env: {} });
    expect(readFileSync(join(pki, ENCRYPTION_KEY_FILE), "utf8")).toBe(key);
    expect(b.kube!.certPem).toBe(a.kube!.certPem);
    const encryption = (m: typeof a) =>
      m.desired.k8s!.nodes.cp1!.components[0]!.files.find((f) => f.path === K8S.encryptionConfig)!.content;
    expect(encryption(b)).toBe(encryption(a));
    const c = await prepareMaterial(spec, pki, new Date(now.getTime() + 13 * HOUR), { env: {} });
    expect(c.kube!.certPem).not.toBe(a.kube!.certPem);
    // The year-long certificates are not reissued.
    expect(c.desired.k8s!.nodes.cp1!.certs).toEqual(a.desired.k8s!.nodes.cp1!.certs);
  });
});
