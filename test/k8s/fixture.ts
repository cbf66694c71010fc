// A small mixed cluster for rendering tests: three control-plane VMs, bare-metal workers, a lab node.
import { clusterSpec, type ClusterSpec } from "../../src/cluster/spec.js";
import { inventorySchema } from "../../src/inventory/schema.js";

const SHA = (c: string) => c.repeat(64);

/** The spec of the test cluster at a given Kubernetes version. */
export function testSpec(version: string, extra: Record<string, unknown> = {}): ClusterSpec {
  const inv = inventorySchema.parse({
    cluster: { name: "tokyo", kubernetesVersion: version, kubeProxyMode: "ipvs" },
    nodePools: [
      {
        name: "cp",
        role: "control-plane",
        kind: "vm",
        count: 3,
        flavor: "m1",
        image: "img",
        firstAddress: "10.0.0.11",
      },
      {
        name: "bm",
        role: "worker",
        kind: "baremetal",
        count: 2,
        flavor: "bm1",
        image: "img",
        firstAddress: "10.0.1.21",
        taints: [{ key: "dedicated", value: "storage", effect: "NoSchedule" }],
      },
    ],
    staticNodes: [{ name: "lab-1", address: "10.77.0.31", role: "worker", kind: "lab" }],
    artifacts: {
      source: "mirror",
      mirrorUrl: "https://mirror.example.com/k8s/",
      binaries: {
        "kube-apiserver": { version, sha256: SHA("a") },
        "kube-controller-manager": { version, sha256: SHA("b") },
        "kube-scheduler": { version, sha256: SHA("c") },
        kubelet: { version, sha256: SHA("d") },
        "kube-proxy": { version, sha256: SHA("e") },
      },
    },
    ...extra,
  });
  return clusterSpec("tokyo", inv);
}

/** A node of the spec by name (throws when absent, so a typo fails the test). */
export function nodeOf(spec: ClusterSpec, name: string) {
  const n = spec.nodes.find((x) => x.name === name);
  if (!n) throw new Error(`no node ${name}`);
  return n;
}

/** A fixed test key (base64 of a 32-character ASCII string), never a real one. */
export const TEST_KEY = "eWFndXJhLXRlc3Qta2V5LW5vdC1hLXNlY3JldC0zMmI=";
