/** Cluster DNS: the CoreDNS Corefile for the cluster domain and upstream resolvers, and the kube-dns Service. */
import type { ClusterSpec } from "../../cluster/spec.js";
import type { KubeObject } from "../../infra/kube-types.js";
import { clusterDNSIP } from "../../k8s/certs.js";
import { renderTemplate } from "../../templates/render.js";

/** The view model of templates/addons/Corefile.hbs. */
export interface CorefileView {
  readonly clusterDomain: string;
  /** Space-separated resolvers; the node's resolv.conf when the inventory names none. */
  readonly upstreams: string;
}

/** The Corefile view model. */
export function corefileView(spec: ClusterSpec): CorefileView {
  const c = spec.inventory.cluster;
  return {
    clusterDomain: c.clusterDomain,
    upstreams: c.dnsUpstreams.length > 0 ? c.dnsUpstreams.join(" ") : "/etc/resolv.conf",
  };
}

/** The `coredns` ConfigMap and the `kube-dns` Service at the address kubelets hand to pods. */
export function dnsObjects(spec: ClusterSpec): KubeObject[] {
  return [
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "coredns", namespace: "kube-system" },
      data: { Corefile: renderTemplate("addons/Corefile.hbs", corefileView(spec)) },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "kube-dns", namespace: "kube-system", labels: { "k8s-app": "kube-dns" } },
      spec: {
        selector: { "k8s-app": "kube-dns" },
        clusterIP: clusterDNSIP(spec.inventory.cluster.serviceCIDR),
        ports: [
          { name: "dns", port: 53, protocol: "UDP" },
          { name: "dns-tcp", port: 53, protocol: "TCP" },
          { name: "metrics", port: 9153, protocol: "TCP" },
        ],
      },
    },
  ];
}
