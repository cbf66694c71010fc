/** Network rules: every CIDR valid, the cluster's ranges disjoint, DNS servers real addresses. */
import type { Finding, Rule } from "./index.js";
import type { Inventory } from "../schema.js";
import { cidrsOverlap, parseCidr, type Cidr } from "../../cluster/net.js";
import { cidrOrFinding, ipv4Finding } from "./cidr.js";

type Path = (string | number)[];

/** Every CIDR-valued field with its path and a name for messages. */
function cidrFields(inv: Inventory): { path: Path; value: string; what: string }[] {
  const out: { path: Path; value: string; what: string }[] = [
    { path: ["cluster", "podCIDR"], value: inv.cluster.podCIDR, what: "podCIDR" },
    { path: ["cluster", "serviceCIDR"], value: inv.cluster.serviceCIDR, what: "serviceCIDR" },
  ];
  const os = inv.openstack;
  if (os?.network.cidr !== undefined)
    out.push({ path: ["openstack", "network", "cidr"], value: os.network.cidr, what: "node network CIDR" });
  if (os) {
    out.push({ path: ["openstack", "operatorCidr"], value: os.operatorCidr, what: "operatorCidr" });
    os.apiEndpoint.allowedCidrs.forEach((c, i) =>
      out.push({ path: ["openstack", "apiEndpoint", "allowedCidrs", i], value: c, what: "API allowed CIDR" }),
    );
  }
  if (inv.lab) out.push({ path: ["lab", "cidr"], value: inv.lab.cidr, what: "lab CIDR" });
  inv.networking.calico.ipPools.forEach((p, i) =>
    out.push({ path: ["networking", "calico", "ipPools", i, "cidr"], value: p.cidr, what: "IP pool CIDR" }),
  );
  return out;
}

const cidrsValid: Rule = (inv) => {
  const out: Finding[] = [];
  for (const f of cidrFields(inv)) cidrOrFinding(f.path, f.value, f.what, out);
  return out;
};

/** The ranges that must not share an address: nodes, pods, services and the lab bridge. */
const cidrsDisjoint: Rule = (inv) => {
  const ranges: { path: Path; what: string; c: Cidr | undefined }[] = [
    { path: ["cluster", "podCIDR"], what: "podCIDR", c: parseCidr(inv.cluster.podCIDR) },
    { path: ["cluster", "serviceCIDR"], what: "serviceCIDR", c: parseCidr(inv.cluster.serviceCIDR) },
  ];
  if (inv.openstack?.network.cidr !== undefined)
    ranges.push({
      path: ["openstack", "network", "cidr"],
      what: "the node network (openstack.network.cidr)",
      c: parseCidr(inv.openstack.network.cidr),
    });
  if (inv.lab) ranges.push({ path: ["lab", "cidr"], what: "the lab network (lab.cidr)", c: parseCidr(inv.lab.cidr) });
  const out: Finding[] = [];
  for (let j = 1; j < ranges.length; j++) {
    for (let i = 0; i < j; i++) {
      const a = ranges[i]!;
      const b = ranges[j]!;
      if (a.c && b.c && cidrsOverlap(a.c, b.c)) {
        out.push({
          path: b.path,
          message: `${b.what} overlaps ${a.what}: packets to an address in both would be routed the wrong way; pick ranges that share no address (e.g. nodes 192.168.0.0/24, pods 10.244.0.0/16, services 10.96.0.0/16)`,
        });
      }
    }
  }
  return out;
};

const serviceCidrSize: Rule = (inv) => {
  const c = parseCidr(inv.cluster.serviceCIDR);
  return c && c.prefix < 12
    ? [
        {
          path: ["cluster", "serviceCIDR"],
          message: `serviceCIDR is a /${c.prefix}; kube-apiserver refuses a service range larger than /12: use a prefix length of 12 or more, e.g. 10.96.0.0/16`,
        },
      ]
    : [];
};

/** The lab bridge takes the first host address; a /31 or /32 leaves no room for a node. */
const labCidrSize: Rule = (inv) => {
  const c = inv.lab ? parseCidr(inv.lab.cidr) : undefined;
  return c && c.prefix > 30
    ? [
        {
          path: ["lab", "cidr"],
          message: `lab.cidr is a /${c.prefix}, which has no host address left once the bridge takes the first: use a prefix length of 30 or less, e.g. 10.77.0.0/24`,
        },
      ]
    : [];
};

const dnsServers: Rule = (inv) => [
  ...inv.cluster.dnsUpstreams.flatMap((s, i) => ipv4Finding(["cluster", "dnsUpstreams", i], s, "DNS upstream")),
  ...(inv.openstack?.network.dnsNameservers ?? []).flatMap((s, i) =>
    ipv4Finding(["openstack", "network", "dnsNameservers", i], s, "DNS nameserver"),
  ),
];

/** Rules for CIDRs and resolvers. */
export const networkRules: readonly Rule[] = [cidrsValid, cidrsDisjoint, serviceCidrSize, labCidrSize, dnsServers];
