/** Naming rules: DNS-1123 labels for everything that becomes a Kubernetes or OpenStack name. */
import type { Finding, Rule } from "./index.js";

/** A DNS-1123 label: lower-case alphanumerics and '-', 1–63 characters, alphanumeric at both ends. */
export const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

function label(path: (string | number)[], value: string, what: string): Finding[] {
  if (DNS1123_LABEL.test(value)) return [];
  return [
    {
      path,
      message: `${what} ${JSON.stringify(value)} is not a DNS-1123 label: use 1–63 lower-case letters, digits and '-', starting and ending with a letter or digit`,
    },
  ];
}

const clusterName: Rule = (inv) => label(["cluster", "name"], inv.cluster.name, "cluster name");

const poolNames: Rule = (inv) =>
  inv.nodePools.flatMap((p, i) => label(["nodePools", i, "name"], p.name, "pool name"));

const staticNodeNames: Rule = (inv) =>
  inv.staticNodes.flatMap((n, i) => label(["staticNodes", i, "name"], n.name, "node name"));

export const nameRules: readonly Rule[] = [clusterName, poolNames, staticNodeNames];
