/**
 * Host-visible names of one lab. Every netns, veth and cgroup dir carries a tag derived from the
 * lab's state directory, so two labs coexist and tearing one down can find only its own objects.
 * Interface names are at most 15 bytes (IFNAMSIZ - 1), hence hashes instead of node names.
 */
import { createHash } from "node:crypto";
import { resolve } from "node:path";

/** Linux's limit on interface names. */
export const IFNAME_MAX = 15;

function hex(s: string, n: number): string {
  return createHash("sha256").update(s).digest("hex").slice(0, n);
}

/** Names of the host objects of the lab kept in `labDir`. */
export function labNames(labDir: string) {
  const tag = hex(resolve(labDir), 6);
  return {
    tag,
    /** Every netns of this lab starts with this. */
    netnsPrefix: `yg-${tag}-`,
    /** Every host-side veth of this lab starts with this (2 + 6 + 6 = 14 bytes). */
    vethPrefix: `yv${tag}`,
    /** Directory under the caller's cgroup in every hierarchy that holds the nodes' cgroups. */
    cgroupGroup: `yagura-lab-${tag}`,
    netns: (node: string) => `yg-${tag}-${node}`,
    veth: (node: string) => `yv${tag}${hex(node, 6)}`,
    /**
     * The node's eth0 MAC, fixed per lab and node (locally administered, unicast): a node that
     * boots again keeps it, so the ARP caches of the host and the other nodes stay right.
     */
    mac: (node: string) => `02:${hex(`${tag}/${node}`, 10).match(/../g)!.join(":")}`,
  } as const;
}

/** The names of one lab, as returned by labNames. */
export type LabNames = ReturnType<typeof labNames>;

/** True when `name` is usable as a Linux interface name. */
export function validIfName(name: string): boolean {
  return name.length > 0 && name.length <= IFNAME_MAX && /^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name);
}
