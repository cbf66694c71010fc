import { execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clusterDNSIP, k8sCertPlan, K8S_CERT, kubernetesServiceIP } from "../../src/k8s/certs.js";
import { openPki, type IssuedCert, type Pki } from "../../src/pki/index.js";
import { testSpec } from "./fixture.js";

const now = new Date("2026-01-01T00:00:00Z");
const spec = testSpec("v1.33.5");
const plan = k8sCertPlan(spec, { apiEndpoint: "203.0.113.10" });
const text = (pem: string) => execFileSync("openssl", ["x509", "-text", "-noout"], { input: pem, encoding: "utf8" });
let dir: string;
let pki: Pki;
const issued = new Map<string, IssuedCert>();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "yagura-k8s-pki-"));
  pki = openPki(join(dir, "pki"));
  for (const e of plan) issued.set(e.request.name, await pki.issue(e.ca, e.request, now));
}, 60_000);
afterAll(async () => rm(dir, { recursive: true, force: true }));

const cert = (name: string) => text(issued.get(name)!.certPem);

describe("service addresses", () => {
  it("takes the first and tenth service IPs", () => {
    expect(kubernetesServiceIP("10.96.0.0/16")).toBe("10.96.0.1");
    expect(clusterDNSIP("10.96.0.0/16")).toBe("10.96.0.10");
    expect(() => kubernetesServiceIP("10.96.0.1/16")).toThrow(/serviceCIDR/);
  });
});

describe("Kubernetes certificate plan, issued by the real PKI", () => {
  it("has one entry per name and every node's kubelet pair", () => {
    const names = plan.map((e) => e.request.name);
    expect(new Set(names).size).toBe(names.length);
    for (const n of spec.nodes) {
      expect(names).toContain(K8S_CERT.kubeletClient(n.name));
      expect(names).toContain(K8S_CERT.kubeletServer(n.name));
    }
    expect(names.filter((n) => n.startsWith("apiserver-cp-"))).toEqual([
      "apiserver-cp-1",
      "apiserver-cp-2",
      "apiserver-cp-3",
    ]);
  });

  it("apiserver serving certificate carries every name clients use", () => {
    const t = cert("apiserver-cp-2");
    for (const san of [
      "DNS:cp-2",
      "DNS:localhost",
      "DNS:kubernetes",
      "DNS:kubernetes.default",
      "DNS:kubernetes.default.svc",
      "DNS:kubernetes.default.svc.cluster.local",
      "IP Address:10.0.0.12",
      "IP Address:127.0.0.1",
      "IP Address:10.96.0.1",
      "IP Address:203.0.113.10",
    ]) {
      expect(t).toContain(san);
    }
    expect(t).toContain("TLS Web Server Authentication");
    expect(t).not.toContain("TLS Web Client Authentication");
  });

  it.each([
    ["kube-controller-manager", "CN = system:kube-controller-manager", undefined],
    ["kube-scheduler", "CN = system:kube-scheduler", undefined],
    ["kube-proxy", "CN = system:kube-proxy", undefined],
    ["apiserver-kubelet-client", "CN = kube-apiserver-kubelet-client", null],
    ["admin", "CN = yagura-admin", "O = system:masters"],
    ["kubelet-client-bm-1", "CN = system:node:bm-1", "O = system:nodes"],
  ])("%s is a client certificate for its identity", (name, cn, o) => {
    const t = cert(name);
    expect(t).toContain(cn);
    if (o) expect(t).toContain(o);
    // null: no group at all (the identity gets its rights from an RBAC binding, not from system:masters).
    if (o === null) expect(/Subject:.*$/m.exec(t)![0]).not.toContain("O = ");
    expect(t).toContain("TLS Web Client Authentication");
    expect(t).not.toContain("TLS Web Server Authentication");
  });

  it("signs each certificate by the CA of its trust domain", async () => {
    const subject = async (kind: "etcd-client" | "front-proxy" | "kubernetes") =>
      execFileSync("openssl", ["x509", "-noout", "-subject"], {
        input: await pki.ensureCA(kind, now),
        encoding: "utf8",
      })
        .replace(/^subject=\s*/, "")
        .trim();
    expect(cert("apiserver-etcd-client")).toContain(`Issuer: ${await subject("etcd-client")}`);
    expect(cert("front-proxy-client")).toContain(`Issuer: ${await subject("front-proxy")}`);
    expect(cert("kubelet-server-lab-1")).toContain(`Issuer: ${await subject("kubernetes")}`);
  });

  it("kubelet serving certificate names the node and is server-only", () => {
    const t = cert("kubelet-server-lab-1");
    expect(t).toContain("DNS:lab-1");
    expect(t).toContain("IP Address:10.77.0.31");
    expect(t).toContain("TLS Web Server Authentication");
    expect(t).not.toContain("TLS Web Client Authentication");
  });

  it("the admin certificate is short-lived", () => {
    const end = execFileSync("openssl", ["x509", "-noout", "-enddate"], {
      input: issued.get("admin")!.certPem,
      encoding: "utf8",
    });
    const days = (new Date(end.replace("notAfter=", "").trim()).getTime() - now.getTime()) / 86_400_000;
    expect(days).toBeLessThanOrEqual(1.01);
  });

  it("a DNS API endpoint becomes a DNS SAN", () => {
    const e = k8sCertPlan(spec, { apiEndpoint: "api.tokyo.example" }).find((x) => x.request.name === "apiserver-cp-1")!;
    expect(e.request.dnsNames).toContain("api.tokyo.example");
    expect(e.request.ipAddresses).not.toContain("api.tokyo.example");
  });
});
