import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { renderNode } from "../../src/k8s/render/index.js";
import { nodeOf, TEST_KEY, testSpec } from "./fixture.js";

const encryption = { provider: "aescbc" as const, name: "key1", secret: TEST_KEY };

/** Parses every YAML and kubeconfig file a node's rendering writes, keyed by path. */
function parsed(version: string, name: string, extra: Record<string, unknown> = {}) {
  const spec = testSpec(version, extra);
  const files = renderNode({
    spec,
    node: nodeOf(spec, name),
    encryption,
    serverId: "sid",
    audit: { logPath: "/var/log/a.log" },
  }).flatMap((c) => c.files);
  const docs: Record<string, Record<string, unknown>> = {};
  for (const f of files)
    if (/\.(yaml|kubeconfig)$/.test(f.path)) docs[f.path] = parse(f.content) as Record<string, unknown>;
  return docs;
}

describe("rendered YAML is what the components read", () => {
  it("KubeletConfiguration registers the boot taint and the node's taints", () => {
    const k = parsed("v1.37.0", "bm-1")["/etc/kubernetes/kubelet.yaml"]!;
    expect(k).toMatchObject({
      apiVersion: "kubelet.config.k8s.io/v1beta1",
      kind: "KubeletConfiguration",
      clusterDNS: ["10.96.0.10"],
      clusterDomain: "cluster.local",
      cgroupDriver: "systemd",
      containerRuntimeEndpoint: "unix:///run/containerd/containerd.sock",
      providerID: "openstack:///sid",
      registerWithTaints: [
        { key: "node.yagura.io/not-ready", value: "", effect: "NoSchedule" },
        { key: "dedicated", value: "storage", effect: "NoSchedule" },
      ],
    });
  });

  it("EncryptionConfiguration names the provider with the key, then identity", () => {
    const e = parsed("v1.24.0", "cp-1")["/etc/kubernetes/encryption-config.yaml"]!;
    expect(e).toEqual({
      apiVersion: "apiserver.config.k8s.io/v1",
      kind: "EncryptionConfiguration",
      resources: [
        {
          resources: ["secrets"],
          providers: [{ aescbc: { keys: [{ name: "key1", secret: TEST_KEY }] } }, { identity: {} }],
        },
      ],
    });
  });

  it("KubeProxyConfiguration takes the inventory's mode and the nftables gate on 1.29-1.30", () => {
    const p = parsed("v1.30.2", "lab-1", {})["/etc/kubernetes/kube-proxy.yaml"]!;
    expect(p).toMatchObject({
      kind: "KubeProxyConfiguration",
      mode: "ipvs",
      clusterCIDR: "10.244.0.0/16",
      conntrack: { maxPerCore: 0 },
      featureGates: {},
    });
    const spec = testSpec("v1.30.2");
    const nft = testSpec("v1.30.2", { cluster: { ...spec.inventory.cluster, kubeProxyMode: "nftables" } });
    const files = renderNode({ spec: nft, node: nodeOf(nft, "bm-1"), encryption }).flatMap((c) => c.files);
    const doc = parse(files.find((f) => f.path === "/etc/kubernetes/kube-proxy.yaml")!.content) as Record<
      string,
      unknown
    >;
    expect(doc).toMatchObject({
      mode: "nftables",
      featureGates: { NFTablesProxyMode: true },
      conntrack: { maxPerCore: null },
    });
  });

  it("kubeconfigs point each component at its own certificate", () => {
    const docs = parsed("v1.37.0", "cp-1");
    const kc = docs["/etc/kubernetes/kube-scheduler.kubeconfig"] as {
      clusters: { cluster: { server: string } }[];
      users: { user: Record<string, string> }[];
    };
    expect(kc.clusters[0]!.cluster.server).toBe("https://127.0.0.1:6443");
    expect(kc.users[0]!.user["client-certificate"]).toBe("/etc/kubernetes/pki/kube-scheduler.crt");
    expect(docs["/etc/kubernetes/kube-scheduler.yaml"]).toMatchObject({
      apiVersion: "kubescheduler.config.k8s.io/v1",
      kind: "KubeSchedulerConfiguration",
    });
    expect(docs["/etc/kubernetes/audit-policy.yaml"]).toMatchObject({ apiVersion: "audit.k8s.io/v1", kind: "Policy" });
  });
});
