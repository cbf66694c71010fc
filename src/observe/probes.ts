/**
 * The health endpoints observe probes on a node's loopback. Only those that answer a plain `ok`
 * to an anonymous request are probed: the apiserver's /readyz (public to unauthenticated
 * clients by default) and the kubelet's /healthz (plain HTTP on loopback). The controller manager
 * and scheduler serve self-signed certificates; their health is their supervisor state.
 */
import type { NodeSpec } from "../cluster/spec.js";
import { K8S } from "../k8s/layout.js";
import { APISERVER_PORT } from "../k8s/render/context.js";
import type { HealthProbe } from "./script.js";

/** The kubelet's healthz port (its default; yagura does not change it). */
export const KUBELET_HEALTHZ_PORT = 10248;

/** Where kube-proxy says which mode it runs in: /proxyMode on its metrics address (default; not changed). */
export const KUBE_PROXY_MODE_URL = "http://127.0.0.1:10249/proxyMode";

/** The probes for one node. */
export function healthProbes(node: Pick<NodeSpec, "role">): HealthProbe[] {
  const out: HealthProbe[] = [];
  if (node.role === "control-plane")
    out.push({ component: "kube-apiserver", url: `https://127.0.0.1:${APISERVER_PORT}/readyz`, caFile: K8S.caCert });
  out.push({ component: "kubelet", url: `http://127.0.0.1:${KUBELET_HEALTHZ_PORT}/healthz` });
  return out;
}
