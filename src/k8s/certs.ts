/**
 * The certificates the Kubernetes components need, as PKI issue requests. Pure: the ops hand each
 * request to `pki.loadOrIssue`, and `K8S_CERT` stems name both the PKI file and the node file, so
 * the flags in render/ point at what was issued.
 */
import type { ClusterSpec, NodeSpec } from "../cluster/spec.js";
import { controlPlane } from "../cluster/spec.js";
import { nthAddress, parseCidr, parseIPv4 } from "../cluster/net.js";
import type { CaKind, IssueRequest } from "../pki/index.js";

/** File stems (PKI store and node) of the certificates shared by every control-plane node. */
export const K8S_CERT = {
  apiserverEtcdClient: "apiserver-etcd-client",
  apiserverKubeletClient: "apiserver-kubelet-client",
  frontProxyClient: "front-proxy-client",
  controllerManager: "kube-controller-manager",
  scheduler: "kube-scheduler",
  kubeProxy: "kube-proxy",
  admin: "admin",
  /** Serving certificate of the Keystone auth webhook on control-plane nodes (when enabled). */
  keystoneAuth: "keystone-auth",
  /** Per control-plane node: `apiserver-<node>`. */
  apiserver: (node: string) => `apiserver-${node}`,
  /** Per node: `kubelet-client-<node>`. */
  kubeletClient: (node: string) => `kubelet-client-${node}`,
  /** Per node: `kubelet-server-<node>`. */
  kubeletServer: (node: string) => `kubelet-server-${node}`,
} as const;

/** The admin certificate lives one day: it is handed to a person, so a leak should age out fast. */
export const ADMIN_VALIDITY_DAYS = 1;

/** One certificate to issue: which CA signs it, the request, and the node it belongs to (if one). */
export interface CertPlanEntry {
  readonly ca: CaKind;
  readonly request: IssueRequest;
  /** The node this certificate is for; undefined for control-plane-wide and local ones. */
  readonly node?: string;
}

/** Inputs beyond the spec: things known only from the stack outputs. */
export interface CertPlanOptions {
  /** The API endpoint (load balancer / floating address or DNS name) when there is one. */
  readonly apiEndpoint?: string;
}

/** The first address of the service CIDR: the `kubernetes` Service's cluster IP. */
export function kubernetesServiceIP(serviceCIDR: string): string {
  const c = parseCidr(serviceCIDR);
  if (!c) throw new Error(`cluster.serviceCIDR ${JSON.stringify(serviceCIDR)} is not an IPv4 CIDR`);
  return nthAddress(c, 1);
}

/** The tenth address of the service CIDR: cluster DNS, by the usual convention. */
export function clusterDNSIP(serviceCIDR: string): string {
  const c = parseCidr(serviceCIDR);
  if (!c) throw new Error(`cluster.serviceCIDR ${JSON.stringify(serviceCIDR)} is not an IPv4 CIDR`);
  return nthAddress(c, 10);
}

const uniq = (xs: readonly string[]) => [...new Set(xs)];

/** SANs of one control-plane node's apiserver serving certificate. */
export function apiserverSANs(
  spec: ClusterSpec,
  node: NodeSpec,
  opts: CertPlanOptions,
): { dnsNames: string[]; ipAddresses: string[] } {
  const c = spec.inventory.cluster;
  const dns = [
    node.name,
    "localhost",
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    `kubernetes.default.svc.${c.clusterDomain}`,
  ];
  const ips = [node.address, "127.0.0.1", kubernetesServiceIP(c.serviceCIDR)];
  if (opts.apiEndpoint !== undefined) (parseIPv4(opts.apiEndpoint) !== undefined ? ips : dns).push(opts.apiEndpoint);
  return { dnsNames: uniq(dns), ipAddresses: uniq(ips) };
}

const client = (name: string, commonName: string, organization?: string): IssueRequest => ({
  name,
  commonName,
  ...(organization !== undefined ? { organization } : {}),
  dnsNames: [],
  ipAddresses: [],
  usages: ["client"],
});

/** Every certificate the cluster's Kubernetes components need, in a stable order. */
export function k8sCertPlan(spec: ClusterSpec, opts: CertPlanOptions = {}): CertPlanEntry[] {
  const out: CertPlanEntry[] = [];
  // One serving certificate per control-plane node, naming only that node: adding or replacing a
  // control-plane node then never reissues (and restarts) the others' apiservers.
  for (const node of controlPlane(spec)) {
    const sans = apiserverSANs(spec, node, opts);
    out.push({
      ca: "kubernetes",
      node: node.name,
      request: { name: K8S_CERT.apiserver(node.name), commonName: "kube-apiserver", ...sans, usages: ["server"] },
    });
  }
  out.push(
    { ca: "etcd-client", request: client(K8S_CERT.apiserverEtcdClient, "kube-apiserver-etcd-client") },
    // No group: the API rung binds this user to nodes/proxy, stats, log, spec and metrics only
    // (src/ops/kube/rbac.ts). Bootstrap does not need the apiserver to reach kubelets; logs and exec
    // work once that binding exists, and a leaked key is not cluster-admin.
    { ca: "kubernetes", request: client(K8S_CERT.apiserverKubeletClient, "kube-apiserver-kubelet-client") },
    { ca: "front-proxy", request: client(K8S_CERT.frontProxyClient, "front-proxy-client") },
    { ca: "kubernetes", request: client(K8S_CERT.controllerManager, "system:kube-controller-manager") },
    { ca: "kubernetes", request: client(K8S_CERT.scheduler, "system:kube-scheduler") },
    { ca: "kubernetes", request: client(K8S_CERT.kubeProxy, "system:kube-proxy") },
    {
      ca: "kubernetes",
      request: { ...client(K8S_CERT.admin, "yagura-admin", "system:masters"), validityDays: ADMIN_VALIDITY_DAYS },
    },
  );
  if (spec.inventory.keystone?.auth.enabled) {
    // The webhook listens on each control-plane node's loopback; only the local apiserver calls it.
    out.push({
      ca: "kubernetes",
      request: {
        name: K8S_CERT.keystoneAuth,
        commonName: "k8s-keystone-auth",
        dnsNames: ["localhost"],
        ipAddresses: ["127.0.0.1"],
        usages: ["server"],
      },
    });
  }
  for (const node of spec.nodes) {
    const cn = `system:node:${node.name}`;
    out.push(
      { ca: "kubernetes", node: node.name, request: client(K8S_CERT.kubeletClient(node.name), cn, "system:nodes") },
      {
        ca: "kubernetes",
        node: node.name,
        request: {
          name: K8S_CERT.kubeletServer(node.name),
          commonName: cn,
          organization: "system:nodes",
          dnsNames: [node.name],
          ipAddresses: [node.address],
          usages: ["server"],
        },
      },
    );
  }
  return out;
}
