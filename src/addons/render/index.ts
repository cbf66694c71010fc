/**
 * Every cluster object yagura applies: the enabled bundles' objects (with the Cinder node plugin
 * placed on VM nodes) plus what yagura renders for this cluster, merged (rendered objects win),
 * stamped with yagura's label and revision, and sorted into apply order.
 */
import type { ClusterSpec } from "../../cluster/spec.js";
import type { KubeObject } from "../../infra/kube-types.js";
import type { AddonName } from "../../inventory/schema.js";
import { mergeObjects, sortByRank, stamp } from "../objects.js";
import type { LoadedBundle } from "../sources.js";
import { calicoObjects } from "./calico.js";
import { cloudConfigSecret, type CloudCredential } from "./cloud.js";
import { dnsObjects } from "./dns.js";
import { keystoneObjects } from "./keystone.js";
import { cinderStorageClasses, nfsStorageClass, placeCinderNodePlugin } from "./storage.js";
import { UserError } from "../../cli/errors.js";

export type { CloudCredential } from "./cloud.js";

/** What rendering needs besides the spec. */
export interface AddonRenderInput {
  readonly bundles: readonly LoadedBundle[];
  /** The application credential for cloud.conf; required when the CCM or Cinder CSI is enabled. */
  readonly credential?: CloudCredential;
}

/** The objects yagura renders for one bundle, from the inventory. */
function renderedFor(spec: ClusterSpec, name: AddonName, credential: CloudCredential | undefined): KubeObject[] {
  switch (name) {
    case "tigera-operator":
      return calicoObjects(spec);
    case "openstack-cloud-controller-manager":
    case "cinder-csi": {
      if (!credential) {
        throw new UserError(
          `${name} needs an application credential for cloud.conf: deploy the stack (output cloud_controller_manager_credential or cinder_csi_credential) or set addons.cloudCredentialFile`,
        );
      }
      const secret = cloudConfigSecret(spec, credential);
      return name === "cinder-csi" ? [secret, ...cinderStorageClasses(spec)] : [secret];
    }
    case "k8s-keystone-auth":
      return keystoneObjects(spec);
    case "nfs-csi":
      return nfsStorageClass(spec);
    case "coredns":
      return dnsObjects(spec);
  }
}

/** The objects yagura renders itself for these bundles (not stamped, in bundle order). */
export function renderedObjects(
  spec: ClusterSpec,
  bundles: readonly AddonName[],
  credential: CloudCredential | undefined,
): KubeObject[] {
  const out = bundles.flatMap((name) => renderedFor(spec, name, credential));
  // The CCM and Cinder CSI share one cloud-config Secret: keep it once.
  return mergeObjects(out);
}

/** Every object in apply order, stamped. */
export function renderAddons(spec: ClusterSpec, input: AddonRenderInput): KubeObject[] {
  const fromBundles = input.bundles.flatMap((b) =>
    b.name === "cinder-csi" ? placeCinderNodePlugin(spec, b.objects) : [...b.objects],
  );
  const rendered = renderedObjects(
    spec,
    input.bundles.map((b) => b.name),
    input.credential,
  );
  return sortByRank(mergeObjects(fromBundles, rendered).map(stamp));
}
