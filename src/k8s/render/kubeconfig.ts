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
    content: renderKubeconfig({ clusterName: ctx.cluster.name, server, caFile: K8S.caCert, user: component, certFile: c.cert, keyFile: c.key }),
    mode: 0o600,
  };
}
