/**
 * Where the Kubernetes components' files live on a node. One table, so the certificate plan, the
 * flags and the config files cannot disagree about a path.
 */
import { posix } from "node:path";
import { NODE_PATHS } from "../cluster/paths.js";

const k = NODE_PATHS.kubernetesDir;
const pki = NODE_PATHS.pkiDir;
const p = (name: string) => posix.join(pki, name);

/** Fixed Kubernetes paths on a node. */
export const K8S = {
  /** Kubernetes CA (the client CA of the apiserver and kubelets). */
  caCert: p("ca.crt"),
  frontProxyCA: p("front-proxy-ca.crt"),
  /** etcd's client CA, as etcd's own layout writes it. */
  etcdCA: posix.join(NODE_PATHS.etcdPkiDir, "ca.crt"),
  saKey: p("sa.key"),
  saPub: p("sa.pub"),
  encryptionConfig: posix.join(k, "encryption-config.yaml"),
  auditPolicy: posix.join(k, "audit-policy.yaml"),
  keystoneWebhookConfig: posix.join(k, "keystone-webhook.kubeconfig"),
  schedulerConfig: posix.join(k, "kube-scheduler.yaml"),
  kubeletConfig: posix.join(k, "kubelet.yaml"),
  kubeProxyConfig: posix.join(k, "kube-proxy.yaml"),
  kubeletDir: "/var/lib/kubelet",
  containerdSocket: "unix:///run/containerd/containerd.sock",
} as const;

/** A certificate/key file pair on the node, by PKI file stem. */
export function certPaths(stem: string): { cert: string; key: string } {
  return { cert: p(`${stem}.crt`), key: p(`${stem}.key`) };
}

/** The kubeconfig of a component (kube-scheduler, kubelet …). */
export function kubeconfigPath(component: string): string {
  return posix.join(k, `${component}.kubeconfig`);
}
