import { describe, expect, it } from "vitest";
import { K8S_CERT, k8sCertPlan } from "../../src/k8s/certs.js";
import { apiserverFlags, checkEncryptionKey } from "../../src/k8s/render/apiserver.js";
import { renderContext, type RenderInput } from "../../src/k8s/render/context.js";
import { schedulerConfigApiVersion } from "../../src/k8s/render/controlplane.js";
import { renderNode } from "../../src/k8s/render/index.js";
import { renderAdminKubeconfig } from "../../src/k8s/render/kubeconfig.js";
import { kubeletConfigView, kubeletFlags, registerTaints } from "../../src/k8s/render/kubelet.js";
import { proxyFeatureGates } from "../../src/k8s/render/proxy.js";
import { kubeVersion } from "../../src/k8s/version.js";
import { K8S } from "../../src/k8s/layout.js";
import { clientURL, ETCD } from "../../src/ops/etcd/layout.js";
import { nodeOf, TEST_KEY, testSpec } from "./fixture.js";

const encryption = { provider: "secretbox" as const, name: "key1", secret: TEST_KEY };
const input = (version: string, node = "cp-1", extra: Record<string, unknown> = {}): RenderInput => {
  const spec = testSpec(version, extra);
  return { spec, node: nodeOf(spec, node), encryption };
};

describe("version switches", () => {
  it.each([
    ["v1.24.0", "kubescheduler.config.k8s.io/v1beta3", "flag", "error"],
    // A pre-release renders as its minor: what a locally built 1.24 reports.
    ["v1.24.0-alpha.1-lab", "kubescheduler.config.k8s.io/v1beta3", "flag", "error"],
    ["v1.27.0-rc.0", "kubescheduler.config.k8s.io/v1", "config", "error"],
    ["v1.25.3", "kubescheduler.config.k8s.io/v1", "flag", "error"],
    ["v1.26.0", "kubescheduler.config.k8s.io/v1", "flag", "error"],
    ["v1.27.0", "kubescheduler.config.k8s.io/v1", "config", "error"],
    ["v1.29.1", "kubescheduler.config.k8s.io/v1", "config", "gate"],
    ["v1.30.0", "kubescheduler.config.k8s.io/v1", "config", "gate"],
    ["v1.31.0", "kubescheduler.config.k8s.io/v1", "config", "none"],
    ["v1.37.0", "kubescheduler.config.k8s.io/v1", "config", "none"],
  ])("%s: scheduler %s, runtime endpoint in %s, nftables %s", (version, scheduler, endpoint, nft) => {
    const v = kubeVersion(version);
    expect(schedulerConfigApiVersion(v)).toBe(scheduler);
    const ctx = renderContext(input(version));
    const inFlags = kubeletFlags(ctx).some((f) => f.startsWith("--container-runtime-endpoint="));
    const inConfig = kubeletConfigView(ctx).settings.some((s) => s.key === "containerRuntimeEndpoint");
    expect([inFlags, inConfig]).toEqual(endpoint === "flag" ? [true, false] : [false, true]);
    // Before 1.27 the endpoint flag only takes effect with --container-runtime=remote (1.24's early
    // builds still default to dockershim); 1.27 removed the flag, so it must not appear there.
    expect(kubeletFlags(ctx).includes("--container-runtime=remote")).toBe(endpoint === "flag");
    if (nft === "error") expect(() => proxyFeatureGates("nftables", v)).toThrow(/nftables needs Kubernetes 1.29/);
    else expect(proxyFeatureGates("nftables", v)).toEqual(nft === "gate" ? { NFTablesProxyMode: true } : {});
    expect(proxyFeatureGates("iptables", v)).toEqual({});
  });

  it.each(["v1.23.9", "v1.38.0", "v1.38.0-alpha.1", "2.0.0", "latest", "1.30", "1.30.0-rc.01"])(
    "refuses %s with a clear message",
    (version) => {
      expect(() => renderNode(input(version))).toThrow(/not supported|not a release number/);
    },
  );
});

describe("switches by node and inventory", () => {
  it("audit and Keystone flags appear only when enabled", () => {
    const off = apiserverFlags(renderContext(input("v1.33.0")));
    expect(off.some((f) => f.startsWith("--audit-"))).toBe(false);
    expect(off.some((f) => f.startsWith("--authentication-token-webhook"))).toBe(false);
    expect(off).toContain("--authorization-mode=Node,RBAC");
    expect(off).toContain("--encryption-provider-config=/etc/kubernetes/encryption-config.yaml");
    const on = apiserverFlags(
      renderContext({
        ...input("v1.33.0", "cp-1", { keystone: { project: { name: "p" }, auth: { enabled: true } } }),
        audit: { logPath: "/var/log/a.log" },
      }),
    );
    expect(on).toContain("--audit-log-path=/var/log/a.log");
    expect(on).toContain("--authentication-token-webhook-config-file=/etc/kubernetes/keystone-webhook.kubeconfig");
  });

  it("OpenStack nodes use the external cloud provider and a providerID; lab nodes neither", () => {
    const bm = renderContext({ ...input("v1.33.0", "bm-1"), serverId: "abc" });
    expect(kubeletFlags(bm)).toContain("--cloud-provider=external");
    expect(kubeletConfigView(bm).settings).toContainEqual({ key: "providerID", value: "openstack:///abc" });
    expect(kubeletConfigView(bm).cgroupDriver).toBe("systemd");
    const lab = renderContext({ ...input("v1.33.0", "lab-1"), serverId: "abc" });
    expect(kubeletFlags(lab)).not.toContain("--cloud-provider=external");
    expect(kubeletConfigView(lab).settings.map((s) => s.key)).not.toContain("providerID");
    expect(kubeletConfigView(lab).cgroupDriver).toBe("cgroupfs");
  });

  it("registers with the boot taint first, then the node's own, without duplicates", () => {
    const own = [{ key: "dedicated", value: "storage", effect: "NoSchedule" as const }];
    expect(registerTaints("node.yagura.io/not-ready", own)).toEqual([
      { key: "node.yagura.io/not-ready", value: "", effect: "NoSchedule" },
      ...own,
    ]);
    expect(registerTaints("b", [{ key: "b", value: "", effect: "NoSchedule" }])).toHaveLength(1);
  });

  it("a control-plane kubelet registers with the role taint but sets no node-role label itself", () => {
    const ROLE = "node-role.kubernetes.io/control-plane";
    const taintKeys = (i: RenderInput) => kubeletConfigView(renderContext(i)).registerWithTaints.map((t) => t.key);
    expect(taintKeys(input("v1.33.0", "cp-1"))).toEqual(["node.yagura.io/not-ready", ROLE]);
    expect(taintKeys(input("v1.33.0", "bm-1"))).toEqual(["node.yagura.io/not-ready", "dedicated"]);
    const cluster = { name: "tokyo", kubernetesVersion: "v1.33.0", controlPlaneTaint: false };
    expect(taintKeys(input("v1.33.0", "cp-1", { cluster }))).toEqual(["node.yagura.io/not-ready"]);
    // NodeRestriction refuses node-role.kubernetes.io/* labels from a kubelet: they go through the API.
    for (const n of ["cp-1", "bm-1"]) {
      const rendered = renderNode(input("v1.33.0", n)).flatMap((c) => [
        ...c.service.argv,
        ...c.files.map((f) => f.content.toString()),
      ]);
      expect(rendered.filter((x) => x.includes("node-labels") || x.includes(`${ROLE}=`))).toEqual([]);
    }
  });

  it("workers run only kubelet and kube-proxy", () => {
    expect(renderNode(input("v1.33.0", "bm-1")).map((c) => c.name)).toEqual(["kubelet", "kube-proxy"]);
    expect(renderNode(input("v1.33.0", "cp-2")).map((c) => c.name)).toEqual([
      "kube-apiserver",
      "kube-controller-manager",
      "kube-scheduler",
      "kubelet",
      "kube-proxy",
    ]);
  });

  it("every certificate a rendered file points at is in the certificate plan", () => {
    const spec = testSpec("v1.33.0", { keystone: { project: { name: "p" }, auth: { enabled: true } } });
    const planned = new Set(k8sCertPlan(spec).map((e) => e.request.name));
    // CA certificates and the service-account key pair are not leaf certificates of the plan.
    const ca = new Set(["ca", "front-proxy-ca", "sa"]);
    for (const node of spec.nodes) {
      for (const c of renderNode({ spec, node, encryption })) {
        const text = c.files.map((f) => f.content).join("\n");
        for (const m of text.matchAll(/\/etc\/kubernetes\/pki\/([a-z0-9.-]+)\.(crt|key)/g)) {
          if (!ca.has(m[1]!)) expect(planned, `${node.name} ${c.name} uses ${m[1]}`).toContain(m[1]);
        }
      }
    }
    expect(planned).toContain(K8S_CERT.keystoneAuth);
  });

  it("the fingerprint follows the version and the node", () => {
    const fp = (v: string, n: string) => renderNode(input(v, n)).find((c) => c.name === "kubelet")!.fingerprint;
    expect(fp("v1.33.0", "bm-1")).not.toBe(fp("v1.33.1", "bm-1"));
    expect(fp("v1.33.0", "bm-1")).not.toBe(fp("v1.33.0", "bm-2"));
    expect(fp("v1.33.0", "bm-1")).toBe(fp("v1.33.0", "bm-1"));
  });

  it.each([
    ["secretbox", TEST_KEY, undefined],
    ["secretbox", Buffer.alloc(16, 1).toString("base64"), /32 bytes/],
    ["aescbc", Buffer.alloc(16, 1).toString("base64"), undefined],
    ["aescbc", "not base64!", /not base64/],
  ] as const)("%s key %s", (provider, secret, err) => {
    const check = () => checkEncryptionKey({ provider, keyName: "k", secret });
    if (err) expect(check).toThrow(err);
    else expect(check).not.toThrow();
  });
});

describe("admin kubeconfig", () => {
  it("embeds the PEMs as base64 data", () => {
    const text = renderAdminKubeconfig({
      clusterName: "tokyo",
      server: "https://203.0.113.10:6443",
      caPem: "CA\n",
      certPem: "CERT\n",
      keyPem: "KEY\n",
    });
    expect(text).toContain(`certificate-authority-data: "${Buffer.from("CA\n").toString("base64")}"`);
    expect(text).toContain(`client-key-data: "${Buffer.from("KEY\n").toString("base64")}"`);
    expect(text).toContain('current-context: "tokyo-admin@tokyo"');
  });
});

describe("hostile values", () => {
  it("a node name or server id cannot break out of a YAML scalar or a comment", () => {
    const spec = testSpec("v1.33.0");
    const node = { ...nodeOf(spec, "bm-1"), name: 'x"\nkind: Pod #' };
    const files = renderNode({ spec, node, encryption, serverId: 'id"\nproviderID: evil' }).flatMap((c) => c.files);
    for (const f of files.filter((x) => x.path.endsWith(".yaml") || x.path.endsWith(".kubeconfig"))) {
      expect(f.content, f.path).not.toMatch(/^kind: Pod/m);
      expect(f.content, f.path).not.toMatch(/^providerID: evil/m);
    }
  });
});

describe("agreement with the etcd layout", () => {
  it("the apiserver trusts etcd's client CA and dials every member's client URL", () => {
    expect(K8S.etcdCA).toBe(ETCD.clientCA);
    const spec = testSpec("v1.33.0");
    const flags = apiserverFlags(renderContext({ spec, node: nodeOf(spec, "cp-1"), encryption }));
    const servers = ["cp-1", "cp-2", "cp-3"].map((n) => clientURL(nodeOf(spec, n))).join(",");
    expect(flags).toContain(`--etcd-servers=${servers}`);
  });
});
