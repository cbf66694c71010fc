/**
 * The secret scanner the lab test and bench/drill.ts share: it finds real keys as written, inside
 * other text, base64-embedded (as a kubeconfig holds them) and by shape, and leaves public material
 * (certificates, public keys, checksums) alone, so a clean scan means something.
 */
import { execFileSync } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createCA } from "../../src/pki/x509.js";
import { scanSecrets, type SecretValue } from "../support/secret-scan.js";

const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
const ed = generateKeyPairSync("ed25519");
const ecKey = ec.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
const edKey = ed.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
const rsaKey = generateKeyPairSync("rsa", { modulusLength: 2048 })
  .privateKey.export({ type: "pkcs8", format: "pem" })
  .toString();
const encryption = randomBytes(32).toString("base64");
// An OpenSSH key as ssh-keygen writes the operator key, and its public line.
const dir = mkdtempSync(join(tmpdir(), "yagura-scan-"));
execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "t", "-f", join(dir, "k")]);
const sshKey = readFileSync(join(dir, "k"), "utf8");
const sshPub = readFileSync(join(dir, "k.pub"), "utf8");
rmSync(dir, { recursive: true, force: true });
const secrets: SecretValue[] = [
  { name: "ec.key", value: ecKey },
  { name: "ed.key", value: edKey },
  { name: "encryption key", value: encryption },
  { name: "rsa.key", value: rsaKey },
  { name: "id_ed25519", value: sshKey },
];
const body = (pem: string) => pem.split("\n").slice(1, -2).join("");
const scan = (text: string) => scanSecrets([{ name: "out", text }], secrets).map((f) => f.what);

describe("secret scan", () => {
  it.each([
    ["a PEM private key", `log line\n${ecKey}`, "PEM private key block"],
    ["a key's body without its armour", `key=${body(ecKey)}`, "material of ec.key"],
    ["an ed25519 key's body", `x ${body(edKey)} y`, "material of ed.key"],
    [
      "a key embedded base64, as in a kubeconfig",
      `client-key: ${Buffer.from(edKey).toString("base64")}`,
      "material of ed.key",
    ],
    ["an RSA key's body", body(rsaKey), "material of rsa.key"],
    ["an OpenSSH key's body", body(sshKey), "material of id_ed25519"],
    ["an OpenSSH key embedded base64", Buffer.from(sshKey).toString("base64"), "material of id_ed25519"],
    ["the encryption key", `secret: ${encryption}`, "material of encryption key"],
    ["a bootstrap token", "token abcdef.0123456789abcdef used", "bootstrap token"],
    [
      "a service-account JWT",
      "Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW0ifQ.c2lnbmF0dXJlLWJ5dGVz",
      "JWT (service-account or other bearer token)",
    ],
    [
      "an application credential secret",
      "application_credential_secret = s3cr3t-value-123",
      "application credential secret",
    ],
  ])("finds %s", (_what, text, what) => {
    expect(scan(text)).toContain(what);
  });

  it("leaves certificates, public keys, checksums and redacted values alone", async () => {
    const ca = await createCA("test CA", new Date(), 1);
    const text = [
      ca.certPem,
      ec.publicKey.export({ type: "spki", format: "pem" }).toString(),
      ed.publicKey.export({ type: "spki", format: "pem" }).toString(),
      sshPub,
      "sha256 3f1c2a9d8e7b6a5f4e3d2c1b0a99887766554433221100ffeeddccbbaa998877",
      "application_credential_secret = [redacted]",
      "kube-proxy.kubeconfig and 10.106.0.11:6443 and status.containerstatuses",
    ].join("\n");
    expect(scan(text)).toEqual([]);
  });

  it("names the source and line, never the secret", () => {
    const f = scanSecrets([{ name: "watch.out", text: `a\nb ${encryption}` }], secrets);
    expect(f).toEqual([{ source: "watch.out", line: 2, what: "material of encryption key" }]);
    expect(JSON.stringify(f)).not.toContain(encryption);
  });
});
