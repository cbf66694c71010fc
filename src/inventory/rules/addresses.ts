/**
 * Address rules: pool ranges (firstAddress … firstAddress+count-1) inside the node network and
 * disjoint; static addresses valid, inside the lab network, and unique.
 */
import type { Finding, Rule } from "./index.js";
import { cidrContains, formatIPv4, parseCidr, parseIPv4, type Cidr } from "../../cluster/net.js";
import { ipv4Finding } from "./cidr.js";
import { MAX_POOL_NODES, plannedNodes } from "./model.js";

/** Why `addr` cannot be a node address in `net`, or undefined. `reservedFirst` names who holds .1. */
function reserved(net: Cidr, addr: number, reservedFirst: string): string | undefined {
  if (net.prefix >= 31) return undefined;
  if (addr === net.base) return "the network address";
  if (addr === net.base + net.size - 1) return "the broadcast address";
  if (addr === net.base + 1) return `the first host address, which ${reservedFirst} uses`;
  return undefined;
}

const poolRanges: Rule = (inv) => {
  const out: Finding[] = [];
  const netText = inv.openstack?.network.cidr;
  const net = netText === undefined ? undefined : parseCidr(netText);
  const ranges: { i: number; first: number; last: number }[] = [];
  inv.nodePools.forEach((p, i) => {
    const path = ["nodePools", i, "firstAddress"];
    const bad = ipv4Finding(path, p.firstAddress, `firstAddress of pool ${JSON.stringify(p.name)}`);
    if (bad.length > 0) return out.push(...bad);
    if (p.count === 0 || p.count > MAX_POOL_NODES) return;
    const first = parseIPv4(p.firstAddress)!;
    const last = first + p.count - 1;
    const span = `${p.firstAddress} … ${formatIPv4(Math.min(last, 0xffffffff))} (${p.count} node${p.count === 1 ? "" : "s"})`;
    if (net && (!cidrContains(net, first) || !cidrContains(net, last))) {
      out.push({ path, message: `pool ${JSON.stringify(p.name)} takes ${span}, which does not fit inside the node network ${netText}: move firstAddress or shrink count` });
    } else if (net) {
      for (let a = first; a <= last; a++) {
        const why = reserved(net, a, "the Neutron router (the subnet's gateway)");
        if (why) {
          out.push({ path, message: `pool ${JSON.stringify(p.name)} takes ${span}, which includes ${formatIPv4(a)}, ${why} of ${netText}: start the pool higher or shrink it` });
          break;
        }
      }
    }
    for (const r of ranges) {
      if (first <= r.last && r.first <= last) {
        const other = inv.nodePools[r.i]!;
        out.push({ path, message: `pool ${JSON.stringify(p.name)} takes ${span}, overlapping pool ${JSON.stringify(other.name)} (${other.firstAddress} … ${formatIPv4(r.last)}): two nodes would get the same address; move firstAddress past ${formatIPv4(r.last)}` });
      }
    }
    ranges.push({ i, first, last });
  });
  return out;
};

const staticAddresses: Rule = (inv) => {
  const out: Finding[] = [];
  const lab = inv.lab ? parseCidr(inv.lab.cidr) : undefined;
  inv.staticNodes.forEach((s, i) => {
    const path = ["staticNodes", i, "address"];
    const bad = ipv4Finding(path, s.address, `address of node ${JSON.stringify(s.name)}`);
    if (bad.length > 0) return out.push(...bad);
    if (!lab) return;
    const a = parseIPv4(s.address)!;
    if (!cidrContains(lab, a)) {
      out.push({ path, message: `node ${JSON.stringify(s.name)} has address ${s.address}, outside the lab network ${inv.lab!.cidr}: lab nodes hang off the lab bridge, so pick an address inside it (e.g. ${formatIPv4(lab.base + 11)})` });
      return;
    }
    const why = reserved(lab, a, `the lab bridge ${inv.lab!.bridge}`);
    if (why) out.push({ path, message: `node ${JSON.stringify(s.name)} has address ${s.address}, ${why} of ${inv.lab!.cidr}: pick another address inside it` });
  });
  return out;
};

/** Static addresses must not repeat each other or a pool node's address (pool vs pool is a range overlap). */
const uniqueAddresses: Rule = (inv) => {
  const out: Finding[] = [];
  const owner = new Map<string, string>();
  for (const n of plannedNodes(inv)) {
    if (n.address === undefined) continue;
    const prev = owner.get(n.address);
    if (prev !== undefined && n.pool === undefined) {
      out.push({ path: [n.path[0]!, n.path[1]!, "address"], message: `address ${n.address} of node ${JSON.stringify(n.name)} is already node ${JSON.stringify(prev)}'s: every node needs its own address; pool node n gets firstAddress+n-1` });
    }
    if (prev === undefined) owner.set(n.address, n.name);
  }
  return out;
};

/** Rules for node addresses. */
export const addressRules: readonly Rule[] = [poolRanges, staticAddresses, uniqueAddresses];
