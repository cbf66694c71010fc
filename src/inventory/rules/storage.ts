/** Storage rules: one default class, Cinder only with a cloud, an NFS export that can be mounted. */
import type { Finding, Rule } from "./index.js";
import { parseIPv4 } from "../../cluster/net.js";
import { isHostname } from "./syntax.js";

const cinder: Rule = (inv) => {
  const c = inv.storage.cinder;
  if (!c) return [];
  const out: Finding[] = [];
  if (!inv.openstack) {
    out.push({
      path: ["storage", "cinder"],
      message:
        "Cinder storage classes need an OpenStack cloud, but there is no openstack section: add one, or use storage.nfs",
    });
  }
  const defaults = c.storageClasses.map((s, i) => ({ s, i })).filter((x) => x.s.default);
  for (const d of defaults.slice(1)) {
    out.push({
      path: ["storage", "cinder", "storageClasses", d.i, "default"],
      message: `storage classes ${JSON.stringify(defaults[0]!.s.name)} and ${JSON.stringify(d.s.name)} are both default: Kubernetes then picks one arbitrarily for claims without a class; mark only one default: true`,
    });
  }
  return out;
};

const nfs: Rule = (inv) => {
  const n = inv.storage.nfs;
  if (!n) return [];
  const out: Finding[] = [];
  if (!n.path.startsWith("/")) {
    out.push({
      path: ["storage", "nfs", "path"],
      message: `nfs path ${JSON.stringify(n.path)} must be the absolute path of the export on the server, e.g. /export/k8s`,
    });
  }
  const looksNumeric = /^[\d.]+$/.test(n.server);
  if (looksNumeric ? parseIPv4(n.server) === undefined : !isHostname(n.server)) {
    out.push({
      path: ["storage", "nfs", "server"],
      message: `nfs server ${JSON.stringify(n.server)} is neither an IPv4 address nor a host name: write e.g. 192.168.10.5 or nfs.example.com (no scheme, port or path)`,
    });
  }
  return out;
};

/** Rules for the storage section. */
export const storageRules: readonly Rule[] = [cinder, nfs];
