import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm, stat, writeFile, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { etcdAdminClient, etcdMemberCerts, needsRenewal, openPki, type Pki } from "../../src/pki/index.js";

const DAY = 24 * 60 * 60 * 1000;
const now = new Date("2026-01-01T00:00:00Z");
let dir: string;
let pki: Pki;

const openssl = (args: string[], input?: string) =>
  execFileSync("openssl", args, { input, encoding: "utf8", stdio: ["pipe", "pipe", "pipe"] });
const text = (pem: string) => openssl(["x509", "-text", "-noout"], pem);
/** Verifies `leaf` against `ca` at a given time (openssl's -attime), returning openssl's verdict. */
function verify(caPem: string, leafPem: string, at: Date, purpose?: string): string {
  const ca = join(dir, `verify-ca-${Math.random()}.pem`);
  execFileSync("sh", ["-c", 'cat > "$1"', "sh", ca], { input: caPem });
  const args = ["verify", "-CAfile", ca, "-attime", String(Math.floor(at.getTime() / 1000))];
  if (purpose) args.push("-purpose", purpose);
  try {
    return openssl(args, leafPem).trim();
  } catch (err) {
    return String((err as { stdout?: string; stderr?: string }).stderr ?? err);
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "yagura-pki-"));
  pki = openPki(join(dir, "pki"));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe("PKI", () => {
  it("creates separate CAs with CA extensions and a ten-year life", async () => {
    const peer = await pki.ensureCA("etcd-peer", now);
    const client = await pki.ensureCA("etcd-client", now);
    expect(peer).not.toBe(client);
    const t = text(peer);
    expect(t).toMatch(/CA:TRUE/);
    expect(t).toMatch(/Certificate Sign, CRL Sign/);
    expect(t).toMatch(/Subject Key Identifier/);
    expect(t).toMatch(/ASN1 OID: prime256v1/);
    expect(t).toMatch(/Not After : Dec 30 00:00:00 2035 GMT/);
    // Creating it again returns the same CA (no silent rotation).
    expect(await openPki(pki.dir).ensureCA("etcd-peer", now)).toBe(peer);
  });

  it("issues leaves that chain to their CA only, with SANs, usages and lifetime", async () => {
    const { peer, server } = await etcdMemberCerts(pki, { name: "cp-1", address: "10.0.0.11" }, now, 30 * DAY);
    expect(verify(peer.caPem, peer.certPem, now, "sslserver")).toMatch(/: OK$/);
    expect(verify(peer.caPem, peer.certPem, now, "sslclient")).toMatch(/: OK$/);
    expect(verify(server.caPem, server.certPem, now, "sslserver")).toMatch(/: OK$/);
    expect(verify(server.caPem, server.certPem, now, "sslclient")).not.toMatch(/: OK$/);
    // Separate trust domains: the peer CA does not vouch for a serving certificate.
    expect(verify(peer.caPem, server.certPem, now)).not.toMatch(/: OK$/);
    const t = text(peer.certPem);
    expect(t).toMatch(/DNS:cp-1, DNS:localhost, IP Address:10.0.0.11, IP Address:127.0.0.1/);
    expect(t).toMatch(/TLS Web Server Authentication, TLS Web Client Authentication/);
    expect(t).toMatch(/Digital Signature, Key Encipherment/);
    expect(t).toMatch(/CA:FALSE/);
    expect(t).toMatch(/Authority Key Identifier/);
    expect(t).toMatch(/Not After : Jan {2}1 00:00:00 2027 GMT/);
    expect(verify(peer.caPem, peer.certPem, new Date(now.getTime() + 366 * DAY))).toMatch(/expired/);
    // The key on disk is the certificate's key.
    const pub = (pem: string, kind: "x509" | "pkey") =>
      kind === "x509" ? openssl(["x509", "-pubkey", "-noout"], pem) : openssl(["pkey", "-pubout"], pem);
    expect(pub(peer.keyPem, "pkey")).toBe(pub(peer.certPem, "x509"));
  });

  it("gives the admin client certificate clientAuth only and CN yagura", async () => {
    const admin = await etcdAdminClient(pki, now, 30 * DAY);
    const t = text(admin.certPem);
    expect(t).toMatch(/Subject: CN\s?=\s?yagura/);
    expect(t).toMatch(/TLS Web Client Authentication/);
    expect(t).not.toMatch(/TLS Web Server Authentication/);
    expect(verify(admin.caPem, admin.certPem, now, "sslclient")).toMatch(/: OK$/);
  });

  it("writes keys 0600, certificates 0644, the directory 0700, and leaves no temp files", async () => {
    expect((await stat(pki.dir)).mode & 0o777).toBe(0o700);
    expect((await stat(join(pki.dir, "etcd-peer-ca.key"))).mode & 0o777).toBe(0o600);
    expect((await stat(join(pki.dir, "etcd-peer-cp-1.key"))).mode & 0o777).toBe(0o600);
    expect((await stat(join(pki.dir, "etcd-peer-cp-1.crt"))).mode & 0o777).toBe(0o644);
    const sa = await pki.ensureServiceAccountKey();
    expect((await stat(join(pki.dir, "sa.key"))).mode & 0o777).toBe(0o600);
    expect(openssl(["pkey", "-pubout"], sa.privateKeyPem)).toBe(sa.publicKeyPem);
    expect((await readdir(pki.dir)).filter((f) => f.endsWith(".tmp"))).toEqual([]);
    // A lost public half is derived again; the private key is kept.
    await rm(join(pki.dir, "sa.pub"));
    expect(await openPki(pki.dir).ensureServiceAccountKey()).toEqual(sa);
  });

  it("reuses a certificate outside the renewal window and reissues inside it", async () => {
    const node = { name: "cp-2", address: "10.0.0.12" };
    const first = await etcdMemberCerts(pki, node, now, 30 * DAY);
    expect(first.peer.issued).toBe(true);
    const later = new Date(now.getTime() + 300 * DAY); // 65 days left: outside a 30-day window
    const again = await etcdMemberCerts(pki, node, later, 30 * DAY);
    expect(again.peer.issued).toBe(false);
    expect(again.peer.certPem).toBe(first.peer.certPem);
    const late = new Date(now.getTime() + 340 * DAY); // 25 days left: inside the window
    expect(needsRenewal(first.peer.certPem, late, 30 * DAY)).toBe(true);
    expect(needsRenewal(first.peer.certPem, later, 30 * DAY)).toBe(false);
    const renewed = await etcdMemberCerts(pki, node, late, 30 * DAY);
    expect(renewed.peer.issued).toBe(true);
    expect(renewed.peer.certPem).not.toBe(first.peer.certPem);
    expect(new Date(text(renewed.peer.certPem).match(/Not After : (.*)/)![1]!).getTime()).toBeGreaterThan(
      late.getTime() + 364 * DAY,
    );
  });

  it("reissues when the request changes or the key on disk does not match", async () => {
    const node = { name: "cp-3", address: "10.0.0.13" };
    const first = await etcdMemberCerts(pki, node, now, 30 * DAY);
    const moved = await etcdMemberCerts(pki, { ...node, address: "10.0.0.99" }, now, 30 * DAY);
    expect(moved.server.issued).toBe(true);
    expect(text(moved.server.certPem)).toMatch(/IP Address:10.0.0.99/);
    const req = { name: "probe", commonName: "probe", dnsNames: ["a"], ipAddresses: [], usages: ["client" as const] };
    const a = await pki.loadOrIssue("kubernetes", req, now, DAY);
    expect((await pki.loadOrIssue("kubernetes", req, now, DAY)).issued).toBe(false);
    expect((await pki.loadOrIssue("kubernetes", { ...req, usages: ["client", "server"] }, now, DAY)).issued).toBe(true);
    expect((await pki.loadOrIssue("front-proxy", { ...req, usages: ["client", "server"] }, now, DAY)).issued).toBe(
      true,
    );
    await writeFile(join(pki.dir, "probe.key"), first.peer.keyPem, { mode: 0o600 });
    expect((await pki.loadOrIssue("front-proxy", { ...req, usages: ["client", "server"] }, now, DAY)).issued).toBe(
      true,
    );
    expect(a.certPem).toMatch(/BEGIN CERTIFICATE/);
    expect(await readFile(join(pki.dir, "probe.crt"), "utf8")).not.toBe(a.certPem);
  });

  it("gives parallel callers of one name the same certificate", async () => {
    const node = { name: "cp-4", address: "10.0.0.14" };
    const all = await Promise.all([1, 2, 3, 4].map(() => etcdMemberCerts(pki, node, now, 30 * DAY)));
    expect(all.filter((c) => c.peer.issued)).toHaveLength(1);
    expect(new Set(all.map((c) => c.peer.certPem)).size).toBe(1);
    expect(await readFile(join(pki.dir, "etcd-peer-cp-4.crt"), "utf8")).toBe(all[0]!.peer.certPem);
  });

  it("keeps structure-changing characters out of subjects and file names", async () => {
    const r = await pki.issue(
      "kubernetes",
      {
        name: "odd",
        commonName: "a, O=system:masters",
        organization: ["x+y"],
        dnsNames: [],
        ipAddresses: [],
        usages: ["client"],
      },
      now,
    );
    expect(openssl(["x509", "-noout", "-subject", "-nameopt", "multiline"], r.certPem)).toMatch(
      /organizationName\s+= x\+y\n\s+commonName\s+= a, O=system:masters/,
    );
    await expect(
      pki.issue(
        "kubernetes",
        { name: "../evil", commonName: "x", dnsNames: [], ipAddresses: [], usages: ["client"] },
        now,
      ),
    ).rejects.toThrow(/invalid PKI file name/);
  });
});
