/** Naming rules: DNS-1123 labels for everything that becomes a Kubernetes or OpenStack name. */
import type { Finding, Rule } from "./index.js";
import { DNS1123_LABEL } from "./syntax.js";
import { MAX_POOL_NODES, plannedNodes } from "./model.js";

/** Re-exported for readers that imported it from here before syntax.ts existed. */
export { DNS1123_LABEL };

function label(path: (string | number)[], value: string, what: string): Finding[] {
  if (DNS1123_LABEL.test(value)) return [];
  return [
    {
      path,
      message: `${what} ${JSON.stringify(value)} is not a DNS-1123 label: use 1–63 lower-case letters, digits and '-', starting and ending with a letter or digit`,
    },
  ];
}

/** Reports every value after the first that repeats an earlier one. */
function duplicates<T>(items: readonly T[], key: (t: T) => string, report: (t: T, first: T) => Finding): Finding[] {
  const seen = new Map<string, T>();
  const out: Finding[] = [];
  for (const it of items) {
    const k = key(it);
    const first = seen.get(k);
    if (first === undefined) seen.set(k, it);
    else out.push(report(it, first));
  }
  return out;
}

const clusterName: Rule = (inv) => label(["cluster", "name"], inv.cluster.name, "cluster name");

const poolNames: Rule = (inv) =>
  inv.nodePools.flatMap((p, i) => {
    const bad = label(["nodePools", i, "name"], p.name, "pool name");
    if (bad.length > 0) return bad;
    // Node names are `<pool>-<n>`; the longest one must still be a label.
    const longest = `${p.name}-${Math.min(p.count, MAX_POOL_NODES)}`;
    if (p.count > 0 && longest.length > 63) {
      return [
        {
          path: ["nodePools", i, "name"],
          message: `pool name ${JSON.stringify(p.name)} makes node names such as ${JSON.stringify(longest)} longer than 63 characters: shorten the pool name to at most ${62 - String(p.count).length} characters`,
        },
      ];
    }
    return [];
  });

const staticNodeNames: Rule = (inv) =>
  inv.staticNodes.flatMap((n, i) => label(["staticNodes", i, "name"], n.name, "node name"));

const storageClassNames: Rule = (inv) => [
  ...(inv.storage.cinder?.storageClasses ?? []).flatMap((c, i) =>
    label(["storage", "cinder", "storageClasses", i, "name"], c.name, "storage class name"),
  ),
  ...(inv.storage.nfs
    ? label(["storage", "nfs", "storageClassName"], inv.storage.nfs.storageClassName, "storage class name")
    : []),
];

const ipPoolNames: Rule = (inv) =>
  inv.networking.calico.ipPools.flatMap((p, i) =>
    label(["networking", "calico", "ipPools", i, "name"], p.name, "IP pool name"),
  );

const keystoneNamespaces: Rule = (inv) =>
  (inv.keystone?.auth.projectNamespaces ?? []).flatMap((m, i) =>
    label(["keystone", "auth", "projectNamespaces", i, "namespace"], m.namespace, "namespace"),
  );

const uniquePoolNames: Rule = (inv) =>
  duplicates(
    inv.nodePools.map((p, i) => ({ name: p.name, i })),
    (p) => p.name,
    (p, first) => ({
      path: ["nodePools", p.i, "name"],
      message: `pool name ${JSON.stringify(p.name)} is already used by nodePools[${first.i}]: give every pool its own name`,
    }),
  );

const uniqueNodeNames: Rule = (inv) => {
  // Pools with a repeated name are reported by uniquePoolNames; skip them here to avoid one finding per node.
  const poolNamesSeen = new Set<string>();
  const repeated = new Set<number>();
  inv.nodePools.forEach((p, i) => (poolNamesSeen.has(p.name) ? repeated.add(i) : poolNamesSeen.add(p.name)));
  const nodes = plannedNodes(inv).filter((n) => n.pool === undefined || !repeated.has(n.pool));
  return duplicates(
    nodes,
    (n) => n.name,
    (n, first) => {
      const source = (x: typeof n) =>
        x.pool === undefined
          ? `static node ${JSON.stringify(x.name)}`
          : `pool ${JSON.stringify(inv.nodePools[x.pool]?.name)} (node ${JSON.stringify(x.name)})`;
      return {
        path: n.path,
        message: `node name ${JSON.stringify(n.name)} is used twice: by ${source(first)} and by ${source(n)}; pool nodes are named <pool>-<n>, so rename the static node or the pool`,
      };
    },
  );
};

const uniqueStorageClassNames: Rule = (inv) => {
  const classes: { name: string; path: (string | number)[] }[] = (inv.storage.cinder?.storageClasses ?? []).map(
    (c, i) => ({
      name: c.name,
      path: ["storage", "cinder", "storageClasses", i, "name"],
    }),
  );
  if (inv.storage.nfs)
    classes.push({ name: inv.storage.nfs.storageClassName, path: ["storage", "nfs", "storageClassName"] });
  return duplicates(
    classes,
    (c) => c.name,
    (c) => ({
      path: c.path,
      message: `storage class name ${JSON.stringify(c.name)} is used twice: storage classes share one namespace, rename one`,
    }),
  );
};

const uniqueIpPoolNames: Rule = (inv) =>
  duplicates(
    inv.networking.calico.ipPools.map((p, i) => ({ name: p.name, i })),
    (p) => p.name,
    (p) => ({
      path: ["networking", "calico", "ipPools", p.i, "name"],
      message: `IP pool name ${JSON.stringify(p.name)} is used twice: rename one`,
    }),
  );

/** Rules for names: syntax, length and uniqueness. */
export const nameRules: readonly Rule[] = [
  clusterName,
  poolNames,
  staticNodeNames,
  storageClassNames,
  ipPoolNames,
  keystoneNamespaces,
  uniquePoolNames,
  uniqueNodeNames,
  uniqueStorageClassNames,
  uniqueIpPoolNames,
];
