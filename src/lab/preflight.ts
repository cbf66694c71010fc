/**
 * Checks before a lab touches the host, each failing with a UserError that says what to change:
 * root, the tools (with their Debian packages), static nodes, addresses inside the lab subnet and
 * not shared, and no clash with an address or subnet already on the host.
 */
import { resolve, sep } from "node:path";
import { UserError } from "../cli/errors.js";
import type { ClusterSpec } from "../cluster/spec.js";
import { cidrContains, cidrsOverlap, formatIPv4, nthAddress, parseCidr, parseIPv4 } from "../cluster/net.js";
import { run, which } from "./exec.js";
import { validIfName } from "./names.js";
import { OVERLAY_DIRS } from "./nodefs.js";

/** The host tools a lab needs, with the Debian package that provides each. */
export const LAB_TOOLS: readonly (readonly [tool: string, pkg: string])[] = [
  ["ip", "iproute2"],
  ["sshd", "openssh-server"],
  ["ssh", "openssh-client"],
  ["ssh-keygen", "openssh-client"],
  ["runsvdir", "runit"],
  ["unshare", "util-linux"],
  ["nsenter", "util-linux"],
  ["mount", "mount"],
];

/** What the lab will build, checked. */
export interface LabPlan {
  readonly bridge: string;
  readonly bridgeAddress: string;
  readonly cidr: string;
  readonly prefix: number;
  readonly nodes: readonly { readonly name: string; readonly address: string }[];
}

/** Reasons the lab cannot run here (not root, tools missing); empty when it can. `path` overrides where tools are looked for. */
export function labPrerequisites(path?: string): string[] {
  const out: string[] = [];
  if (process.getuid?.() !== 0) out.push("the lab needs root (network namespaces, mounts, cgroups): run it as root");
  const missing = LAB_TOOLS.filter(([t]) => !which(t, path));
  for (const [t, pkg] of missing)
    out.push(`\`${t}\` is missing: install the Debian package ${pkg} (apt-get install ${pkg})`);
  return out;
}

/** Throws a UserError unless this machine can run a lab. */
export function requirePrerequisites(): void {
  const p = labPrerequisites();
  if (p.length > 0) throw new UserError(p[0]!, p.slice(1));
}

const NODE_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Validates the spec's lab section and static nodes; every problem at once. */
export function planLab(spec: ClusterSpec, stateRoot: string): LabPlan {
  const lab = spec.inventory.lab ?? { bridge: "ygbr0", cidr: "10.77.0.0/24" };
  const statics = spec.nodes.filter((n) => !n.managed);
  const problems: string[] = [];
  if (statics.length === 0) {
    throw new UserError(`${spec.env}: the inventory has no static nodes, so there is nothing to run in a lab`, [
      "  add nodes under staticNodes: (name, address inside lab.cidr, role), as in inventory/lab.yaml",
    ]);
  }
  if (!validIfName(lab.bridge))
    problems.push(`lab.bridge ${JSON.stringify(lab.bridge)}: use 1–15 letters, digits, '-', '_' or '.'`);
  const cidr = parseCidr(lab.cidr);
  if (!cidr || cidr.prefix > 30)
    problems.push(
      `lab.cidr ${JSON.stringify(lab.cidr)}: use an IPv4 network such as 10.77.0.0/24 (prefix at most /30)`,
    );
  const bridgeAddress = cidr ? nthAddress(cidr, 1) : "";
  const seen = new Map<string, string>();
  for (const n of statics) {
    if (!NODE_NAME.test(n.name)) problems.push(`node ${JSON.stringify(n.name)}: not a DNS-1123 label`);
    const a = parseIPv4(n.address);
    if (a === undefined) {
      problems.push(`node ${n.name}: address ${JSON.stringify(n.address)} is not an IPv4 address`);
      continue;
    }
    if (cidr && (!cidrContains(cidr, a) || a === cidr.base || a === cidr.base + cidr.size - 1)) {
      problems.push(`node ${n.name}: address ${n.address} is not a host address in lab.cidr ${lab.cidr}`);
    }
    if (n.address === bridgeAddress)
      problems.push(`node ${n.name}: address ${n.address} is the bridge's (the first of lab.cidr); pick another`);
    const other = seen.get(n.address);
    if (other) problems.push(`nodes ${other} and ${n.name} share the address ${n.address}: give each its own`);
    seen.set(n.address, n.name);
  }
  const root = resolve(stateRoot);
  if (/[,:\s]/.test(root))
    problems.push(`state dir ${root}: contains ',', ':' or white space, which overlay mount options cannot carry`);
  for (const d of OVERLAY_DIRS) {
    if (root === `/${d}` || root.startsWith(`/${d}${sep}`)) {
      problems.push(
        `state dir ${root}: lies under /${d}, which each node overlays; set YAGURA_STATE_DIR elsewhere (e.g. /srv/yagura)`,
      );
    }
  }
  if (problems.length > 0)
    throw new UserError(
      `${spec.env}: the lab cannot be built from this inventory`,
      problems.map((p) => `  ${p}`),
    );
  return {
    bridge: lab.bridge,
    bridgeAddress,
    cidr: `${formatIPv4(cidr!.base)}/${cidr!.prefix}`,
    prefix: cidr!.prefix,
    nodes: statics.map((n) => ({ name: n.name, address: n.address })),
  };
}

interface IpAddr {
  ifname: string;
  addr_info?: { family: string; local: string; prefixlen: number }[];
}

/**
 * Refuses addresses or subnets already on the host: a node or bridge address configured on any
 * interface, or any interface's subnet overlapping the lab's. `ownBridge` (this lab's, when it
 * exists) is exempt.
 */
export async function checkHostClashes(plan: LabPlan, ownBridge: boolean): Promise<void> {
  const links = JSON.parse(await run(["ip", "-j", "addr", "show"])) as IpAddr[];
  const cidr = parseCidr(plan.cidr)!;
  const mine = new Set([plan.bridgeAddress, ...plan.nodes.map((n) => n.address)]);
  const problems: string[] = [];
  for (const l of links) {
    if (ownBridge && l.ifname === plan.bridge) continue;
    if (l.ifname === plan.bridge) {
      problems.push(
        `interface ${plan.bridge} already exists and this lab did not create it: pick another lab.bridge, or delete it (ip link del ${plan.bridge}) if it is a leftover`,
      );
    }
    for (const a of l.addr_info ?? []) {
      if (a.family !== "inet") continue;
      if (mine.has(a.local)) problems.push(`address ${a.local} is already in use on ${l.ifname}`);
      const base = parseIPv4(a.local)! - (parseIPv4(a.local)! % 2 ** (32 - a.prefixlen));
      if (cidrsOverlap(cidr, { base, prefix: a.prefixlen, size: 2 ** (32 - a.prefixlen) }) && !mine.has(a.local)) {
        problems.push(`lab.cidr ${plan.cidr} overlaps ${a.local}/${a.prefixlen} on ${l.ifname}`);
      }
    }
  }
  if (problems.length > 0) {
    throw new UserError(
      `the lab's addresses clash with the host's: change lab.cidr and the node addresses`,
      [...new Set(problems)].map((p) => `  ${p}`),
    );
  }
}
