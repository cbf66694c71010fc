/** Add-on rules: each bundle pinned by a release and a sha256, from a readable source, with what it needs. */
import type { Finding, Rule } from "./index.js";
import { ADDON_BUNDLES, type AddonName, type Inventory } from "../schema.js";
import { isHttpUrl } from "./syntax.js";

const base = (name: string) => ["addons", "bundles", name];

const pins: Rule = (inv) => {
  const out: Finding[] = [];
  for (const name of ADDON_BUNDLES) {
    const b = inv.addons.bundles[name];
    if (!b) continue;
    if (!/^[0-9a-f]{64}$/.test(b.sha256)) {
      const hint = /^[0-9A-F]{64}$/i.test(b.sha256) ? "write it in lower case" : `it has ${b.sha256.length} characters`;
      out.push({
        path: [...base(name), "sha256"],
        message: `sha256 of add-on ${name} must be 64 lower-case hex digits (sha256sum of the manifest file); ${hint}`,
      });
    }
    if (!/^v?\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$/.test(b.version)) {
      out.push({
        path: [...base(name), "version"],
        message: `version of add-on ${name} ${JSON.stringify(b.version)} is not a release number: write the upstream release, e.g. v3.30.3`,
      });
    }
    const looksUrl = /^[a-z][a-z0-9+.-]*:\/\//i.test(b.source);
    if (b.source.trim() === "" || (looksUrl && !isHttpUrl(b.source))) {
      out.push({
        path: [...base(name), "source"],
        message: `source of add-on ${name} ${JSON.stringify(b.source)} is neither a file path (relative to the inventory) nor an http(s) URL without credentials, query or fragment: write e.g. addons/${name}.yaml or https://mirror.example.com/${name}.yaml`,
      });
    }
  }
  return out;
};

/** cloud.conf needs a cloud and its Keystone endpoint. */
const cloudConf =
  (what: string, alternative: string) =>
  (inv: Inventory): string | undefined =>
    !inv.openstack
      ? `${what}, but there is no openstack section: add one or ${alternative}`
      : !inv.openstack.authUrl
        ? `${what} through cloud.conf, which needs the Keystone endpoint: set openstack.authUrl (e.g. https://keystone.example.com:5000/v3)`
        : undefined;

/** What each bundle needs elsewhere in the inventory: the message when it is missing. */
const NEEDS: Partial<Record<AddonName, (inv: Inventory) => string | undefined>> = {
  "openstack-cloud-controller-manager": cloudConf(
    "the cloud controller manager talks to an OpenStack cloud",
    "remove this bundle",
  ),
  "cinder-csi": cloudConf("Cinder CSI provisions OpenStack volumes", "use nfs-csi with storage.nfs"),
  "k8s-keystone-auth": (inv) =>
    inv.keystone?.auth.enabled === true
      ? undefined
      : "k8s-keystone-auth is the webhook of keystone.auth, which is not enabled: set keystone.auth.enabled: true or remove this bundle",
  "nfs-csi": (inv) =>
    inv.storage.nfs !== undefined
      ? undefined
      : "the NFS CSI driver needs an export to provision from, but there is no storage.nfs: add one or remove this bundle",
};

const needs: Rule = (inv) =>
  ADDON_BUNDLES.flatMap((name) => {
    const why = inv.addons.bundles[name] ? NEEDS[name]?.(inv) : undefined;
    return why ? [{ path: base(name), message: why }] : [];
  });

/** Rules for the addons section. */
export const addonRules: readonly Rule[] = [pins, needs];
