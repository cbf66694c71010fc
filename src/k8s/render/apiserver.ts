/**
 * kube-apiserver on a control-plane node: its flags, the encryption-at-rest configuration, and the
 * optional audit policy and Keystone webhook configuration. Flags are data (one per element), so
 * the supervisor quotes them and the fingerprint sees every change.
 */
import { controlPlane } from "../../cluster/spec.js";
import type { ManagedFile } from "../../supervisor/types.js";
import { renderTemplate } from "../../templates/render.js";
import { K8S_CERT } from "../certs.js";
import { certPaths, K8S } from "../layout.js";
import { APISERVER_PORT, componentService, type ComponentRendering, type RenderContext } from "./context.js";
import { UserError } from "../../cli/errors.js";
import { atLeast } from "../version.js";

/** Where the Keystone auth webhook (k8s-keystone-auth, hostNetwork on control-plane nodes) answers. */
export const KEYSTONE_WEBHOOK_URL = "https://127.0.0.1:8443/webhook";

/**
 * Seconds an apiserver gets to exit after TERM before its supervisor kills it. Left alone, an
 * apiserver before 1.27 keeps its watch connections until the HTTP server's 60 s shutdown timeout,
 * so every rolling restart cost a minute per node; requests other than watches finish within
 * seconds, and clients resume their watches on the other apiservers either way. kubeadm's static
 * pods get 30 s (the pod default); k0s gives its apiserver 5 to 20 s.
 */
export const APISERVER_STOP_TIMEOUT_S = 20;

/**
 * From 1.27 the apiserver closes its watches itself, rate limited, within this grace
 * (--shutdown-watch-termination-grace-period), ahead of the supervisor's kill.
 */
export const APISERVER_WATCH_DRAIN_S = APISERVER_STOP_TIMEOUT_S - 5;

/** Admission plugins enabled on top of the apiserver's defaults. */
export const ADMISSION_PLUGINS = ["NodeRestriction"] as const;

/** The view model of templates/k8s/encryption-config.yaml.hbs. */
export interface EncryptionView {
  readonly provider: "secretbox" | "aescbc";
  readonly keyName: string;
  readonly secret: string;
}

/** The service-account issuer: the in-cluster name of the API, stable across endpoint changes. */
export function serviceAccountIssuer(clusterDomain: string): string {
  return `https://kubernetes.default.svc.${clusterDomain}`;
}

/** The apiserver's flags on this node (without the binary). */
export function apiserverFlags(ctx: RenderContext): string[] {
  const { cluster, node } = ctx;
  const etcd = controlPlane(ctx.spec).map((n) => `https://${n.address}:2379`);
  const serving = certPaths(K8S_CERT.apiserver(node.name));
  const etcdClient = certPaths(K8S_CERT.apiserverEtcdClient);
  const kubeletClient = certPaths(K8S_CERT.apiserverKubeletClient);
  const proxyClient = certPaths(K8S_CERT.frontProxyClient);
  const flags = [
    `--advertise-address=${node.address}`,
    "--bind-address=0.0.0.0",
    `--secure-port=${APISERVER_PORT}`,
    "--allow-privileged=true",
    "--authorization-mode=Node,RBAC",
    `--enable-admission-plugins=${ADMISSION_PLUGINS.join(",")}`,
    `--client-ca-file=${K8S.caCert}`,
    `--tls-cert-file=${serving.cert}`,
    `--tls-private-key-file=${serving.key}`,
    `--etcd-servers=${etcd.join(",")}`,
    `--etcd-cafile=${K8S.etcdCA}`,
    `--etcd-certfile=${etcdClient.cert}`,
    `--etcd-keyfile=${etcdClient.key}`,
    `--kubelet-certificate-authority=${K8S.caCert}`,
    `--kubelet-client-certificate=${kubeletClient.cert}`,
    `--kubelet-client-key=${kubeletClient.key}`,
    "--kubelet-preferred-address-types=InternalIP,Hostname",
    `--service-cluster-ip-range=${cluster.serviceCIDR}`,
    `--service-account-issuer=${serviceAccountIssuer(cluster.clusterDomain)}`,
    `--service-account-key-file=${K8S.saPub}`,
    `--service-account-signing-key-file=${K8S.saKey}`,
    `--requestheader-client-ca-file=${K8S.frontProxyCA}`,
    "--requestheader-allowed-names=front-proxy-client",
    "--requestheader-username-headers=X-Remote-User",
    "--requestheader-group-headers=X-Remote-Group",
    "--requestheader-extra-headers-prefix=X-Remote-Extra-",
    `--proxy-client-cert-file=${proxyClient.cert}`,
    `--proxy-client-key-file=${proxyClient.key}`,
    `--encryption-provider-config=${K8S.encryptionConfig}`,
  ];
  if (atLeast(ctx.v, 27)) flags.push(`--shutdown-watch-termination-grace-period=${APISERVER_WATCH_DRAIN_S}s`);
  if (ctx.audit) {
    flags.push(
      `--audit-policy-file=${K8S.auditPolicy}`,
      `--audit-log-path=${ctx.audit.logPath}`,
      `--audit-log-maxage=${ctx.audit.maxAgeDays ?? 30}`,
      `--audit-log-maxbackup=${ctx.audit.maxBackups ?? 10}`,
      `--audit-log-maxsize=${ctx.audit.maxSizeMB ?? 100}`,
    );
  }
  if (ctx.spec.inventory.keystone?.auth.enabled) {
    flags.push(`--authentication-token-webhook-config-file=${K8S.keystoneWebhookConfig}`);
  }
  return flags;
}

/** Throws unless the key has the length its provider needs (secretbox 32 bytes; aescbc 16, 24 or 32). */
export function checkEncryptionKey(e: EncryptionView): void {
  const bytes = /^[A-Za-z0-9+/]+={0,2}$/.test(e.secret) ? Buffer.from(e.secret, "base64").length : -1;
  const ok = e.provider === "secretbox" ? [32] : [16, 24, 32];
  if (!ok.includes(bytes)) {
    throw new UserError(
      `encryption key ${JSON.stringify(e.keyName)} for ${e.provider} must be base64 of ${ok.join(", ")} bytes (it decodes to ${bytes < 0 ? "nothing: not base64" : `${bytes} bytes`})`,
    );
  }
}

/** The apiserver's service and files on a control-plane node. */
export function renderApiserver(ctx: RenderContext): ComponentRendering {
  const e = ctx.encryption;
  const view: EncryptionView = { provider: e.provider, keyName: e.name, secret: e.secret };
  checkEncryptionKey(view);
  // The encryption key is a secret: 0600, and never printed by records.
  const files: ManagedFile[] = [
    {
      path: K8S.encryptionConfig,
      content: renderTemplate("k8s/encryption-config.yaml.hbs", view),
      mode: 0o600,
      secret: true,
    },
  ];
  if (ctx.audit)
    files.push({ path: K8S.auditPolicy, content: renderTemplate("k8s/audit-policy.yaml.hbs", {}), mode: 0o644 });
  if (ctx.spec.inventory.keystone?.auth.enabled) {
    files.push({
      path: K8S.keystoneWebhookConfig,
      content: renderTemplate("k8s/webhook.kubeconfig.hbs", {
        name: "keystone-auth",
        server: KEYSTONE_WEBHOOK_URL,
        caFile: K8S.caCert,
      }),
      mode: 0o644,
    });
  }
  const service = componentService(ctx, "kube-apiserver", apiserverFlags(ctx));
  return { service: { ...service, stopTimeoutSeconds: APISERVER_STOP_TIMEOUT_S }, files };
}
