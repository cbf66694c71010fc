/** kube-proxy on every node: KubeProxyConfiguration (mode from the inventory) and its kubeconfig. */
import type { Inventory } from "../../inventory/schema.js";
import { renderTemplate } from "../../templates/render.js";
import { K8S_CERT } from "../certs.js";
import { K8S, kubeconfigPath } from "../layout.js";
import { atLeast, type KubeVersion } from "../version.js";
import { componentService, type ComponentRendering, type RenderContext } from "./context.js";
import { kubeconfigFile } from "./kubeconfig.js";
import { UserError } from "../../cli/errors.js";

/** The view model of templates/k8s/kube-proxy-config.yaml.hbs. */
export interface KubeProxyConfigView {
  readonly nodeName: string;
  readonly kubeconfig: string;
  readonly clusterCIDR: string;
  readonly mode: Inventory["cluster"]["kubeProxyMode"];
  /** null keeps kube-proxy's default; 0 leaves the host's conntrack table size alone. */
  readonly conntrackMaxPerCore: number | null;
  readonly featureGates: Readonly<Record<string, boolean>>;
}

/**
 * Feature gates a proxy mode needs at a version. nftables mode (KEP-3866) is alpha behind
 * NFTablesProxyMode in 1.29 and 1.30, on by default from 1.31; it does not exist before 1.29.
 * The gate goes when 1.30 leaves SUPPORTED_KUBERNETES.
 */
export function proxyFeatureGates(mode: KubeProxyConfigView["mode"], v: KubeVersion): Record<string, boolean> {
  if (mode !== "nftables") return {};
  if (!atLeast(v, 29)) {
    throw new UserError(
      `cluster.kubeProxyMode nftables needs Kubernetes 1.29 or later (this cluster runs ${v.text}): use iptables or ipvs, or upgrade`,
    );
  }
  return atLeast(v, 31) ? {} : { NFTablesProxyMode: true };
}

/** kube-proxy's configuration view on this node. */
export function kubeProxyConfigView(ctx: RenderContext): KubeProxyConfigView {
  return {
    nodeName: ctx.node.name,
    kubeconfig: kubeconfigPath("kube-proxy"),
    clusterCIDR: ctx.cluster.podCIDR,
    mode: ctx.cluster.kubeProxyMode,
    // Lab nodes share the host's /proc/sys: one kube-proxy resizing conntrack would resize it for all.
    conntrackMaxPerCore: ctx.node.kind === "lab" ? 0 : null,
    featureGates: proxyFeatureGates(ctx.cluster.kubeProxyMode, ctx.v),
  };
}

/** kube-proxy's service, config and kubeconfig. */
export function renderKubeProxy(ctx: RenderContext): ComponentRendering {
  return {
    service: componentService(ctx, "kube-proxy", [`--config=${K8S.kubeProxyConfig}`]),
    files: [
      {
        path: K8S.kubeProxyConfig,
        content: renderTemplate("k8s/kube-proxy-config.yaml.hbs", kubeProxyConfigView(ctx)),
        mode: 0o644,
      },
      kubeconfigFile(ctx, "kube-proxy", K8S_CERT.kubeProxy, ctx.apiServerUrl),
    ],
  };
}
