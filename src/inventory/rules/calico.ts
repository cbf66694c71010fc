/** Calico rules: block sizes that fit, IP pools inside the pod CIDR, a redundant set of route reflectors. */
import type { Finding, Rule } from "./index.js";
import { cidrsOverlap, parseCidr, parseIPv4 } from "../../cluster/net.js";
import { plannedNodes } from "./model.js";

const blockSize: Rule = (inv) => {
  const pod = parseCidr(inv.cluster.podCIDR);
  const calico = inv.networking.calico;
  if (!pod) return [];
  if (calico.blockSize < pod.prefix) {
    return [
      {
        path: ["networking", "calico", "blockSize"],
        message: `blockSize /${calico.blockSize} is larger than podCIDR ${inv.cluster.podCIDR} itself: a block must fit inside the pod CIDR, so use a block size of at least ${pod.prefix} (26 is usual) or widen podCIDR`,
      },
    ];
  }
  // Each node claims at least one block; with fewer blocks than nodes some nodes get no pod addresses.
  const blocks = 2 ** (calico.blockSize - pod.prefix);
  const nodes = plannedNodes(inv).length;
  if (calico.ipPools.length === 0 && blocks < nodes) {
    return [
      {
        path: ["networking", "calico", "blockSize"],
        message: `podCIDR ${inv.cluster.podCIDR} holds only ${blocks} blocks of /${calico.blockSize} but the cluster has ${nodes} nodes, and every node needs a block of its own: widen podCIDR or raise blockSize`,
      },
    ];
  }
  return [];
};

const ipPools: Rule = (inv) => {
  const pod = parseCidr(inv.cluster.podCIDR);
  const out: Finding[] = [];
  const pools = inv.networking.calico.ipPools.map((p) => parseCidr(p.cidr));
  inv.networking.calico.ipPools.forEach((p, i) => {
    const c = pools[i];
    const base = ["networking", "calico", "ipPools", i];
    if (!c) return;
    if (pod && !(c.base >= pod.base && c.base + c.size <= pod.base + pod.size)) {
      out.push({
        path: [...base, "cidr"],
        message: `IP pool ${JSON.stringify(p.name)} (${p.cidr}) is not inside podCIDR ${inv.cluster.podCIDR}: kube-proxy and the CNI treat only podCIDR as pod traffic; choose a range inside it or widen podCIDR`,
      });
    }
    for (let j = 0; j < i; j++) {
      const o = pools[j];
      if (o && cidrsOverlap(c, o)) {
        out.push({
          path: [...base, "cidr"],
          message: `IP pool ${JSON.stringify(p.name)} (${p.cidr}) overlaps IP pool ${JSON.stringify(inv.networking.calico.ipPools[j]?.name)}: Calico would hand out the same address twice; make the ranges disjoint`,
        });
      }
    }
    if (p.blockSize !== undefined && (p.blockSize < 20 || p.blockSize > 32 || p.blockSize < c.prefix)) {
      out.push({
        path: [...base, "blockSize"],
        message: `IP pool ${JSON.stringify(p.name)} has blockSize ${p.blockSize}: Calico needs 20–32 and at least the pool's own prefix length /${c.prefix}; use ${Math.max(26, c.prefix)}`,
      });
    }
  });
  return out;
};

const routeReflectors: Rule = (inv) => {
  const rr = inv.networking.calico.routeReflectors;
  const base = ["networking", "calico", "routeReflectors"];
  const out: Finding[] = [];
  if (parseIPv4(rr.clusterId) === undefined) {
    out.push({
      path: [...base, "clusterId"],
      message: `clusterId ${JSON.stringify(rr.clusterId)} is not a dotted-quad IPv4 value: BGP cluster IDs are written like addresses, e.g. 244.0.0.1`,
    });
  }
  if (!rr.enabled) return out;
  const why = "one reflector is a single point of failure for every BGP route in the cluster";
  if (rr.count < 2) {
    out.push({
      path: [...base, "count"],
      message: `route reflectors are enabled with count ${rr.count}; ${why}: set count to 2 or more, or enabled: false for a full mesh`,
    });
  }
  if (rr.nodes.length === 1) {
    out.push({
      path: [...base, "nodes"],
      message: `route reflectors are enabled with only one node in nodes; ${why}: name at least 2 nodes, or leave nodes empty to pick them from the control plane`,
    });
  }
  const known = new Map(plannedNodes(inv).map((n) => [n.name, n]));
  const seen = new Set<string>();
  rr.nodes.forEach((name, i) => {
    if (!known.has(name)) {
      const sample = [...known.keys()].slice(0, 5).join(", ");
      out.push({
        path: [...base, "nodes", i],
        message: `route reflector ${JSON.stringify(name)} is not a node of this inventory (its nodes include ${sample || "none"}; pool nodes are named <pool>-<n>): name an existing node`,
      });
    } else if (seen.has(name)) {
      out.push({
        path: [...base, "nodes", i],
        message: `route reflector ${JSON.stringify(name)} is listed twice: name each reflector once`,
      });
    }
    seen.add(name);
  });
  if (rr.nodes.length === 0 && rr.count >= 2 && known.size < rr.count) {
    out.push({
      path: [...base, "count"],
      message: `route reflectors are enabled with count ${rr.count} but the cluster has only ${known.size} node${known.size === 1 ? "" : "s"}: lower count, add nodes, or set enabled: false for a full mesh`,
    });
  }
  return out;
};

/** With the bridge network nothing reads the Calico section, so nothing in it can be wrong. */
const whenCalico =
  (r: Rule): Rule =>
  (inv) =>
    inv.networking.cni === "calico" ? r(inv) : [];

/** The bridge network's own rule: Calico's add-on must not run beside it. */
const bridgeAlone: Rule = (inv) =>
  inv.networking.cni === "bridge" && inv.addons.bundles["tigera-operator"]
    ? [
        {
          path: ["addons", "bundles", "tigera-operator"],
          message:
            "networking.cni is bridge, so Calico must not run beside it: remove the tigera-operator bundle, or set networking.cni: calico",
        },
      ]
    : [];

/** Rules for the Calico section (only when Calico is the pod network), and for the bridge network. */
export const calicoRules: readonly Rule[] = [...[blockSize, ipPools, routeReflectors].map(whenCalico), bridgeAlone];
