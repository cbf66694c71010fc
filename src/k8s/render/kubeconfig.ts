/** Kubeconfig files that point a component at the API with its own certificate, by file path. */
import { renderTemplate } from "../../templates/render.js";
import type { ManagedFile } from "../../supervisor/types.js";
import { certPaths, K8S, kubeconfigPath } from "../layout.js";
import type { RenderContext } from "./context.js";

/** The view model of templates/k8s/kubeconfig.yaml.hbs. */
export interface KubeconfigView {
  readonly clusterName: string;
  readonly server: string;
  readonly caFile: string;
  readonly user: string;
  readonly certFile: string;
  readonly keyFile: string;
}

/** Renders a kubeconfig. */
export function renderKubeconfig(view: KubeconfigView): string {
  return renderTemplate("k8s/kubeconfig.yaml.hbs", view);
}

/** The kubeconfig file of `component`, authenticating with the certificate stored under `stem`. */
export function kubeconfigFile(ctx: RenderContext, component: string, stem: string, server: string): ManagedFile {
  const c = certPaths(stem);
  return {
    path: kubeconfigPath(component),
    content: renderKubeconfig({
      clusterName: ctx.cluster.name,
      server,
      caFile: K8S.caCert,
      user: component,
      certFile: c.cert,
      keyFile: c.key,
    }),
    mode: 0o600,
  };
}

/** PEMs and endpoint for the operator's kubeconfig (kept in the local state, 0600). */
export interface AdminKubeconfigInput {
  readonly clusterName: string;
  readonly server: string;
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
}

const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");

/** The admin kubeconfig with the credentials embedded, so it works away from the PKI directory. */
export function renderAdminKubeconfig(i: AdminKubeconfigInput): string {
  return renderTemplate("k8s/admin.kubeconfig.hbs", {
    clusterName: i.clusterName,
    server: i.server,
    user: `${i.clusterName}-admin`,
    context: `${i.clusterName}-admin@${i.clusterName}`,
    caData: b64(i.caPem),
    certData: b64(i.certPem),
    keyData: b64(i.keyPem),
  });
}
