/**
 * The non-binary parts of the add-on lab e2e test, unit-tested where no Kubernetes binaries exist:
 * a small stand-in CNI bundle (the names the boot-taint gate watches, CRDs the rendered Calico
 * objects need, a workload) whose DaemonSet pods become Ready only once the test opens a port on
 * their node, and the inventory that enables it and takes the binaries from a release mirror.
 */
import { createHash } from "node:crypto";
import { shq } from "../../src/infra/shell.js";
import { PAUSE_IMAGE_REF } from "../../src/lab/containerd.js";

/** The port the stand-in CNI pods' readiness probe connects to on their node (host network). */
export const READY_PORT = 19084;

const crd = (group: string, kind: string, plural: string) => `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: { name: ${plural}.${group} }
spec:
  group: ${group}
  names: { kind: ${kind}, listKind: ${kind}List, plural: ${plural}, singular: ${kind.toLowerCase()} }
  scope: Cluster
  versions:
    - name: v1
      served: true
      storage: true
      schema: { openAPIV3Schema: { type: object, x-kubernetes-preserve-unknown-fields: true } }
`;

/**
 * The bundle, in the slot of tigera-operator (so the gate watches calico-system/calico-node): its
 * pods run the lab's pause image (nothing can be pulled) and turn Ready when READY_PORT answers.
 */
export function standInCniBundle(): string {
  return [
    crd("operator.tigera.io", "Installation", "installations"),
    crd("crd.projectcalico.org", "BGPConfiguration", "bgpconfigurations"),
    `apiVersion: v1
kind: Namespace
metadata: { name: calico-system }
`,
    `apiVersion: v1
kind: ServiceAccount
metadata: { name: calico-node, namespace: calico-system }
`,
    `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: calico-node }
rules: [{ apiGroups: [""], resources: [nodes], verbs: [get, list] }]
`,
    `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: calico-node }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: calico-node }
subjects: [{ kind: ServiceAccount, name: calico-node, namespace: calico-system }]
`,
    `apiVersion: apps/v1
kind: DaemonSet
metadata: { name: calico-node, namespace: calico-system }
spec:
  selector: { matchLabels: { k8s-app: calico-node } }
  template:
    metadata: { labels: { k8s-app: calico-node } }
    spec:
      serviceAccountName: calico-node
      hostNetwork: true
      tolerations: [{ operator: Exists }]
      containers:
        - name: calico-node
          image: ${PAUSE_IMAGE_REF}
          imagePullPolicy: Never
          readinessProbe: { tcpSocket: { port: ${READY_PORT} }, periodSeconds: 2, failureThreshold: 1 }
`,
    `apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: calico-system }
spec:
  replicas: 1
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers: [{ name: web, image: ${PAUSE_IMAGE_REF}, imagePullPolicy: Never }]
`,
  ].join("---\n");
}

/** One node of the add-ons lab. */
export interface AddonsLabNode {
  readonly name: string;
  readonly address: string;
  readonly role: "control-plane" | "worker";
}

/**
 * The add-ons lab's inventory before its add-ons: static lab nodes, Calico's slot (played by the
 * stand-in bundle), and of the Kubernetes binaries only the release and the mirror that serves the
 * official release layout: no source, no pins (issue #16).
 */
export function addonsLabInventoryText(l: {
  env: string;
  bridge: string;
  cidr: string;
  version: string;
  releaseUrl: string;
  nodes: readonly AddonsLabNode[];
}): string {
  const q = (s: string) => JSON.stringify(s);
  return [
    `cluster: { name: ${l.env}, kubernetesVersion: ${q(l.version)} }`,
    `lab: { bridge: ${l.bridge}, cidr: ${l.cidr} }`,
    "staticNodes:",
    ...l.nodes.map((n) => `  - { name: ${n.name}, address: ${n.address}, role: ${n.role} }`),
    "networking: { calico: { routeReflectors: { enabled: false } } }",
    `artifacts: { releaseUrl: ${q(l.releaseUrl)} }`,
    "",
  ].join("\n");
}

/** The inventory lines that enable the bundle, read from `source` next to the inventory. */
export function addonInventoryLines(bundle: string, source: string): string[] {
  const sha = createHash("sha256").update(bundle).digest("hex");
  return ["addons:", "  bundles:", `    tigera-operator: { version: v0.0.1-e2e, sha256: ${sha}, source: ${source} }`];
}

/** A shell line that holds READY_PORT open on a node until the node stops (python3 is on the lab host). */
export function readyListenerCommand(): string {
  const py = `import socket,time
s=socket.socket()
s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)
s.bind(("0.0.0.0",${READY_PORT}))
s.listen(64)
while True:
  c,_=s.accept()
  c.close()`;
  return `nohup python3 -c ${shq(py)} >/dev/null 2>&1 </dev/null &`;
}

/**
 * A bridge CNI config for one lab node, written by the add-ons test in place of what Calico would
 * install (its stand-in bundle runs no CNI). Each node gets its own pod subnet; no pod traffic
 * crosses nodes.
 */
export function bridgeCniConfig(index: number): string {
  return JSON.stringify({
    cniVersion: "0.4.0",
    name: "yagura-lab",
    plugins: [
      {
        type: "bridge",
        bridge: "cni0",
        isGateway: true,
        ipMasq: false,
        ipam: { type: "host-local", ranges: [[{ subnet: `10.244.${index + 1}.0/24` }]] },
      },
    ],
  });
}
