/**
 * The `cloud-config` Secret (kube-system) that the OpenStack cloud controller manager and Cinder
 * CSI both mount: [Global] auth and region, [LoadBalancer], [Networking] and [BlockStorage].
 */
import type { ClusterSpec } from "../../cluster/spec.js";
import type { KubeObject } from "../../infra/kube-types.js";
import { renderTemplate } from "../../templates/render.js";
import { UserError } from "../../cli/errors.js";

/** An application credential for cloud.conf. The secret is never logged or printed. */
export interface CloudCredential {
  readonly id: string;
  readonly secret: string;
}

/** Name and namespace of the Secret the upstream manifests mount. */
export const CLOUD_CONFIG_SECRET = { namespace: "kube-system", name: "cloud-config" } as const;

/** The view model of templates/addons/cloud.conf.hbs. */
export interface CloudConfView {
  readonly authUrl: string;
  readonly region: string;
  readonly credentialId: string;
  readonly credentialSecret: string;
  readonly loadBalancer: { readonly enabled: boolean; readonly createMonitor: boolean };
  readonly networking: { readonly publicNetworkName: string; readonly internalNetworkName: string };
  readonly blockStorage: { readonly ignoreVolumeAz: boolean };
}

/** The cloud.conf view model; throws saying what to set when the inventory lacks a cloud or auth URL. */
export function cloudConfView(spec: ClusterSpec, credential: CloudCredential): CloudConfView {
  const os = spec.inventory.openstack;
  if (!os) throw new UserError("cloud.conf needs an openstack section in the inventory");
  if (!os.authUrl) {
    throw new UserError(
      "cloud.conf needs the Keystone endpoint: set openstack.authUrl (e.g. https://keystone.example.com:5000/v3)",
    );
  }
  return {
    authUrl: os.authUrl,
    region: os.region,
    credentialId: credential.id,
    credentialSecret: credential.secret,
    // Services of type LoadBalancer become Octavia load balancers with health monitors.
    loadBalancer: { enabled: true, createMonitor: true },
    networking: {
      publicNetworkName: os.externalNetwork,
      internalNetworkName: os.network.existingNetwork ?? `${spec.inventory.cluster.name}-nodes`,
    },
    // Volumes follow the zone the storage class names; pods on zone-less bare metal still mount them.
    blockStorage: { ignoreVolumeAz: true },
  };
}

/** The Secret holding cloud.conf. */
export function cloudConfigSecret(spec: ClusterSpec, credential: CloudCredential): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { ...CLOUD_CONFIG_SECRET },
    type: "Opaque",
    stringData: { "cloud.conf": renderTemplate("addons/cloud.conf.hbs", cloudConfView(spec, credential)) },
  };
}
