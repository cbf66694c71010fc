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

/** What each bundle needs elsewhere in the inventory, and the message when it is missing. */
const NEEDS: Partial<Record<AddonName, { ok: (inv: Inventory) => boolean; why: string }>> = {
  "openstack-cloud-controller-manager": {
    ok: (inv) => inv.openstack !== undefined,
    why: "the cloud controller manager talks to an OpenStack cloud, but there is no openstack section: add one or remove this bundle",
  },
  "cinder-csi": {
    ok: (inv) => inv.openstack !== undefined,
    why: "Cinder CSI provisions OpenStack volumes, but there is no openstack section: add one, or use nfs-csi with storage.nfs",
  },
  "k8s-keystone-auth": {
    ok: (inv) => inv.keystone?.auth.enabled === true,
    why: "k8s-keystone-auth is the webhook of keystone.auth, which is not enabled: set keystone.auth.enabled: true or remove this bundle",
  },
  "nfs-csi": {
    ok: (inv) => inv.storage.nfs !== undefined,
    why: "the NFS CSI driver needs an export to provision from, but there is no storage.nfs: add one or remove this bundle",
  },
};

const needs: Rule = (inv) =>
  ADDON_BUNDLES.flatMap((name) => {
    const need = NEEDS[name];
    return inv.addons.bundles[name] && need && !need.ok(inv) ? [{ path: base(name), message: need.why }] : [];
  });

/** Rules for the addons section. */
export const addonRules: readonly Rule[] = [pins, needs];
