/**
 * The kubelet on every node: flags, KubeletConfiguration and kubeconfig. A node registers with the
 * boot taint (removed by a later rung once its networking is ready) plus its inventory taints.
 */
import type { Taint } from "../../inventory/schema.js";
import { renderTemplate } from "../../templates/render.js";
import { BOOT_GATE, bootGateScriptFile } from "../boot-gate.js";
import { clusterDNSIP, K8S_CERT } from "../certs.js";
import { certPaths, K8S, kubeconfigPath } from "../layout.js";
import { atLeast, type KubeVersion } from "../version.js";
import { componentService, type ComponentRendering, type RenderContext } from "./context.js";
import { kubeconfigFile } from "./kubeconfig.js";

/** A top-level KubeletConfiguration setting that only some nodes or versions carry. */
export interface Setting {
  readonly key: string;
  readonly value: string | number | boolean;
}

/** The view model of templates/k8s/kubelet-config.yaml.hbs. */
export interface KubeletConfigView {
  readonly nodeName: string;
  readonly clientCAFile: string;
  readonly tlsCertFile: string;
  readonly tlsPrivateKeyFile: string;
  readonly cgroupDriver: "systemd" | "cgroupfs";
  readonly clusterDomain: string;
  readonly clusterDNS: readonly string[];
  readonly registerWithTaints: readonly Taint[];
  readonly settings: readonly Setting[];
}

/**
 * True when the runtime endpoint goes in KubeletConfiguration (`containerRuntimeEndpoint`, added in
 * 1.27); before that only the `--container-runtime-endpoint` flag exists. The flag branch goes
 * when 1.26 leaves SUPPORTED_KUBERNETES.
 */
export function runtimeEndpointInConfig(v: KubeVersion): boolean {
  return atLeast(v, 27);
}

/** The taints a node registers with: the boot taint first, then the inventory's. */
export function registerTaints(bootTaint: string, taints: readonly Taint[]): Taint[] {
  return [{ key: bootTaint, value: "", effect: "NoSchedule" }, ...taints.filter((t) => t.key !== bootTaint)];
}

/** The kubelet's configuration view on this node. */
export function kubeletConfigView(ctx: RenderContext): KubeletConfigView {
  const serving = certPaths(K8S_CERT.kubeletServer(ctx.node.name));
  const settings: Setting[] = [];
  if (runtimeEndpointInConfig(ctx.v)) settings.push({ key: "containerRuntimeEndpoint", value: K8S.containerdSocket });
  if (ctx.onOpenStack && ctx.serverId !== undefined)
    settings.push({ key: "providerID", value: `openstack:///${ctx.serverId}` });
  // Lab nodes share the host's kernel, whose swap yagura does not control.
  if (ctx.node.kind === "lab") settings.push({ key: "failSwapOn", value: false });
  return {
    nodeName: ctx.node.name,
    clientCAFile: K8S.caCert,
    tlsCertFile: serving.cert,
    tlsPrivateKeyFile: serving.key,
    // Lab nodes have no systemd, and their containerd runs runc with SystemdCgroup = false.
    cgroupDriver: ctx.node.kind === "lab" ? "cgroupfs" : "systemd",
    clusterDomain: ctx.cluster.clusterDomain,
    clusterDNS: [clusterDNSIP(ctx.cluster.serviceCIDR)],
    registerWithTaints: registerTaints(ctx.cluster.bootTaint, ctx.node.taints),
    settings,
  };
}

/** The kubelet's flags on this node (without the binary). */
export function kubeletFlags(ctx: RenderContext): string[] {
  const flags = [
    `--config=${K8S.kubeletConfig}`,
    `--kubeconfig=${kubeconfigPath("kubelet")}`,
    `--root-dir=${K8S.kubeletDir}`,
    `--hostname-override=${ctx.node.name}`,
    `--node-ip=${ctx.node.address}`,
  ];
  // Before 1.27 the endpoint is a flag, and it is only used with --container-runtime=remote: early
  // 1.24 builds still default to the removed Docker runtime (dockershim) and crash-loop without it.
  if (!runtimeEndpointInConfig(ctx.v))
    flags.push("--container-runtime=remote", `--container-runtime-endpoint=${K8S.containerdSocket}`);
  // Nodes start with the uninitialized taint until the OpenStack cloud controller manager adopts them.
  if (ctx.onOpenStack) flags.push("--cloud-provider=external");
  return flags;
}

/** The kubelet's service (started through the boot gate), config, kubeconfig and gate script. */
export function renderKubelet(ctx: RenderContext): ComponentRendering {
  const service = componentService(ctx, "kubelet", kubeletFlags(ctx));
  return {
    // The gate script execs the kubelet (same pid, so systemd's notify socket still reaches it).
    service: { ...service, argv: [BOOT_GATE.script, ...service.argv] },
    files: [
      bootGateScriptFile(),
      {
        path: K8S.kubeletConfig,
        content: renderTemplate("k8s/kubelet-config.yaml.hbs", kubeletConfigView(ctx)),
        mode: 0o644,
      },
      kubeconfigFile(ctx, "kubelet", K8S_CERT.kubeletClient(ctx.node.name), ctx.apiServerUrl),
    ],
  };
}
