/**
 * Address rules: pool ranges (firstAddress … firstAddress+count-1) inside the node network and
 * disjoint; static addresses valid, inside the lab network, and unique.
 */
import type { Finding, Rule } from "./index.js";
import { cidrContains, formatIPv4, parseCidr, parseIPv4, type Cidr } from "../../cluster/net.js";
import { ipv4Finding } from "./cidr.js";
import { MAX_POOL_NODES, plannedNodes } from "./model.js";

/** Why `addr` cannot be a node address in `net` (written `netText`), or undefined. `holder` names who holds the first host address. */
function reserved(net: Cidr, netText: string, addr: number, holder: string): string | undefined {
  if (net.prefix >= 31) return undefined;
  if (addr === net.base) return `the network address of ${netText}`;
  if (addr === net.base + net.size - 1) return `the broadcast address of ${netText}`;
  if (addr === net.base + 1) return `the first host address of ${netText}, which ${holder} uses`;
  return undefined;
}

const poolRanges: Rule = (inv) => {
  const out: Finding[] = [];
  const netText = inv.openstack?.network.cidr;
  const net = netText === undefined ? undefined : parseCidr(netText);
  const ranges: { i: number; first: number; last: number }[] = [];
  inv.nodePools.forEach((p, i) => {
    const path = ["nodePools", i, "firstAddress"];
    const bad = ipv4Finding(path, p.firstAddress, `pool ${JSON.stringify(p.name)} has firstAddress`);
    if (bad.length > 0) return out.push(...bad);
    if (p.count === 0 || p.count > MAX_POOL_NODES) return;
    const first = parseIPv4(p.firstAddress)!;
    const last = first + p.count - 1;
    const span =
      p.count === 1
        ? `the single address ${p.firstAddress}`
        : `${p.firstAddress} … ${formatIPv4(Math.min(last, 0xffffffff))} (${p.count} nodes)`;
    if (net && (!cidrContains(net, first) || !cidrContains(net, last))) {
      out.push({
        path,
        message: `pool ${JSON.stringify(p.name)} takes ${span}, which does not fit inside the node network ${netText}: move firstAddress or shrink count`,
      });
    } else if (net) {
      for (let a = first; a <= last; a++) {
        const why = reserved(net, netText!, a, "the Neutron router (the subnet's gateway)");
        if (why) {
          const what =
            p.count === 1
              ? `pool ${JSON.stringify(p.name)} would give its node ${formatIPv4(a)}`
              : `pool ${JSON.stringify(p.name)} takes ${span}, which includes ${formatIPv4(a)}`;
          out.push({
            path,
            message: `${what}, ${why}: move firstAddress${p.count === 1 ? "" : " or shrink the pool"}`,
          });
          break;
        }
      }
    }
    for (const r of ranges) {
      if (first <= r.last && r.first <= last) {
        const other = inv.nodePools[r.i]!;
        out.push({
          path,
          message: `pool ${JSON.stringify(p.name)} takes ${span}, overlapping pool ${JSON.stringify(other.name)} (${other.firstAddress} … ${formatIPv4(r.last)}): two nodes would get the same address; move firstAddress past ${formatIPv4(r.last)}`,
        });
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
    const bad = ipv4Finding(path, s.address, `node ${JSON.stringify(s.name)} has address`);
    if (bad.length > 0) return out.push(...bad);
    if (!lab) return;
    const a = parseIPv4(s.address)!;
    if (!cidrContains(lab, a)) {
      out.push({
        path,
        message: `node ${JSON.stringify(s.name)} has address ${s.address}, outside the lab network ${inv.lab!.cidr}: lab nodes hang off the lab bridge, so pick an address inside it (e.g. ${formatIPv4(lab.base + 11)})`,
      });
      return;
    }
    const why = reserved(lab, inv.lab!.cidr, a, `the lab bridge ${inv.lab!.bridge}`);
    if (why)
      out.push({
        path,
        message: `node ${JSON.stringify(s.name)} has address ${s.address}, ${why}: pick another address in the lab network (e.g. ${formatIPv4(lab.base + 11 + i)})`,
      });
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
      out.push({
        path: [n.path[0]!, n.path[1]!, "address"],
        message: `node ${JSON.stringify(n.name)} has address ${n.address}, which node ${JSON.stringify(prev)} already has: every node needs its own address (pool node <pool>-<n> gets firstAddress+n-1)`,
      });
    }
    if (prev === undefined) owner.set(n.address, n.name);
  }
  return out;
};

/** Rules for node addresses. */
export const addressRules: readonly Rule[] = [poolRanges, staticAddresses, uniqueAddresses];
