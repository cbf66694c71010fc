import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { x509 } from "../../src/pki/x509.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const BIN = resolve(ROOT, "bin/yagura.mjs");
const dir = mkdtempSync(join(tmpdir(), "yagura-kubeconfig-"));
const inventory = join(dir, "kc.yaml");
writeFileSync(
  inventory,
  [
    "cluster: { name: kc, kubernetesVersion: '1.33.5' }",
    "lab: { bridge: ygbr87c, cidr: 10.87.0.0/24 }",
    "staticNodes:",
    "  - { name: n1, address: 10.87.0.11, role: control-plane }",
    "  - { name: n2, address: 10.87.0.12, role: worker }",
    "",
  ].join("\n"),
);
const cli = (...args: string[]) =>
  spawnSync(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 90_000,
    env: { ...process.env, YAGURA_STATE_DIR: join(dir, "state") },
  });

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("yagura kubeconfig", () => {
  it("--help shows an example", () => {
    const r = cli("kubeconfig", "--help");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/export KUBECONFIG=\$\(yagura kubeconfig lab\)/);
  }, 120_000);

  it("writes a 0600 kubeconfig whose one-day certificate verifies against the cluster CA", () => {
    const r = cli("kubeconfig", inventory);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const path = r.stdout.trim();
    expect(path).toBe(join(dir, "state", "kc", "admin.kubeconfig"));
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const kc = parse(readFileSync(path, "utf8")) as {
      clusters: { cluster: { server: string; "certificate-authority-data": string } }[];
      users: { user: { "client-certificate-data": string; "client-key-data": string } }[];
      "current-context": string;
    };
    expect(kc.clusters[0]!.cluster.server).toBe("https://10.87.0.11:6443");
    const b64 = (s: string) => Buffer.from(s, "base64").toString("utf8");
    writeFileSync(join(dir, "ca.pem"), b64(kc.clusters[0]!.cluster["certificate-authority-data"]));
    const certPem = b64(kc.users[0]!.user["client-certificate-data"]);
    writeFileSync(join(dir, "cert.pem"), certPem);
    const verify = execFileSync("openssl", ["verify", "-CAfile", join(dir, "ca.pem"), join(dir, "cert.pem")]);
    expect(verify.toString()).toMatch(/cert\.pem: OK/);
    // The CA is the cluster's: the same file the nodes get as ca.crt.
    expect(readFileSync(join(dir, "ca.pem"), "utf8")).toBe(
      readFileSync(join(dir, "state", "kc", "pki", "kubernetes-ca.crt"), "utf8"),
    );
    const cert = new x509.X509Certificate(certPem);
    expect(cert.notAfter.getTime() - cert.notBefore.getTime()).toBeLessThanOrEqual(86_400_000 + 300_000);
    expect(cert.notAfter.getTime()).toBeGreaterThan(cert.notBefore.getTime());
    expect(cert.subject).toMatch(/O=system:masters/);
    const key = b64(kc.users[0]!.user["client-key-data"]);
    expect(key).toMatch(/PRIVATE KEY/);
    // The key is never printed.
    expect(r.stdout).not.toMatch(/PRIVATE KEY/);
  }, 120_000);

  it("a second run issues a fresh certificate", () => {
    const a = readFileSync(cli("kubeconfig", inventory).stdout.trim(), "utf8");
    const b = readFileSync(cli("kubeconfig", inventory).stdout.trim(), "utf8");
    expect(a).not.toBe(b);
  }, 180_000);
});
