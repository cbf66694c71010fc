/**
 * kube-controller-manager and kube-scheduler on a control-plane node. Both reach the apiserver on
 * the node's loopback, so a control-plane node keeps working while the API endpoint is down.
 */
import { renderTemplate } from "../../templates/render.js";
import { K8S_CERT } from "../certs.js";
import { K8S, kubeconfigPath } from "../layout.js";
import { atLeast, type KubeVersion } from "../version.js";
import { APISERVER_PORT, componentService, type ComponentRendering, type RenderContext } from "./context.js";
import { kubeconfigFile } from "./kubeconfig.js";

/** The local apiserver, as control-plane components reach it. */
export const LOCAL_APISERVER = `https://127.0.0.1:${APISERVER_PORT}`;

/**
 * KubeSchedulerConfiguration's API version: v1 went GA in 1.25 (KEP-785); v1beta3 is the newest
 * 1.24 serves. The v1beta3 branch goes when 1.24 leaves SUPPORTED_KUBERNETES.
 */
export function schedulerConfigApiVersion(v: KubeVersion): string {
  return atLeast(v, 25) ? "kubescheduler.config.k8s.io/v1" : "kubescheduler.config.k8s.io/v1beta3";
}

/**
 * The controller manager's flags on this node (without the binary). No --cloud-provider: without
 * one it runs no cloud controllers, which is what an external cloud controller manager needs.
 */
export function controllerManagerFlags(ctx: RenderContext): string[] {
  const kc = kubeconfigPath("kube-controller-manager");
  return [
    `--kubeconfig=${kc}`,
    `--authentication-kubeconfig=${kc}`,
    `--authorization-kubeconfig=${kc}`,
    "--bind-address=127.0.0.1",
    "--leader-elect=true",
    "--use-service-account-credentials=true",
    `--cluster-name=${ctx.cluster.name}`,
    `--service-cluster-ip-range=${ctx.cluster.serviceCIDR}`,
    `--cluster-cidr=${ctx.cluster.podCIDR}`,
    `--root-ca-file=${K8S.caCert}`,
    `--service-account-private-key-file=${K8S.saKey}`,
    `--requestheader-client-ca-file=${K8S.frontProxyCA}`,
    `--client-ca-file=${K8S.caCert}`,
    // The bridge pod network takes each node's range from its Node's spec.podCIDR; Calico has its own IPAM.
    ...(ctx.spec.inventory.networking.cni === "bridge" ? ["--allocate-node-cidrs=true"] : []),
  ];
}

/** The controller manager's service and kubeconfig. */
export function renderControllerManager(ctx: RenderContext): ComponentRendering {
  return {
    service: componentService(ctx, "kube-controller-manager", controllerManagerFlags(ctx)),
    files: [kubeconfigFile(ctx, "kube-controller-manager", K8S_CERT.controllerManager, LOCAL_APISERVER)],
  };
}

/** The scheduler's service, kubeconfig and KubeSchedulerConfiguration. */
export function renderScheduler(ctx: RenderContext): ComponentRendering {
  const kc = kubeconfigPath("kube-scheduler");
  const config = renderTemplate("k8s/scheduler-config.yaml.hbs", {
    apiVersion: schedulerConfigApiVersion(ctx.v),
    kubeconfig: kc,
  });
  return {
    service: componentService(ctx, "kube-scheduler", [
      `--config=${K8S.schedulerConfig}`,
      `--authentication-kubeconfig=${kc}`,
      `--authorization-kubeconfig=${kc}`,
      "--bind-address=127.0.0.1",
    ]),
    files: [
      kubeconfigFile(ctx, "kube-scheduler", K8S_CERT.scheduler, LOCAL_APISERVER),
      { path: K8S.schedulerConfig, content: config, mode: 0o644 },
    ],
  };
}
