/**
 * What every construct of a cluster stack shares: the names that go into resource names, and the
 * tags/metadata that let an operator find every resource of a cluster, environment, pool or role.
 */
import { parseCidr } from "../../src/cluster/net.js";
import { invalidProp } from "../errors.js";

/** Identity of the cluster a resource belongs to. */
export interface ClusterRef {
  /** `cluster.name` from the inventory; prefixes every OpenStack resource name. */
  readonly cluster: string;
  /** Environment (inventory file name). */
  readonly env: string;
}

/** Optional pool/role a resource belongs to. */
export interface Placement {
  readonly pool?: string;
  readonly role?: string;
}

/** Neutron/Nova tags (strings) for a resource. */
export function tagsFor(ref: ClusterRef, p: Placement = {}): string[] {
  const tags = [`cluster=${ref.cluster}`, `environment=${ref.env}`];
  if (p.pool !== undefined) tags.push(`pool=${p.pool}`);
  if (p.role !== undefined) tags.push(`role=${p.role}`);
  return tags;
}

/** Nova/Cinder metadata (a map) for a resource; same facts as the tags. */
export function metadataFor(ref: ClusterRef, p: Placement = {}): Record<string, string> {
  const md: Record<string, string> = { cluster: ref.cluster, environment: ref.env };
  if (p.pool !== undefined) md.pool = p.pool;
  if (p.role !== undefined) md.role = p.role;
  return md;
}

/** Throws a named error unless `value` is an IPv4 CIDR. */
export function requireCidr(construct: string, prop: string, value: string): void {
  if (parseCidr(value) === undefined)
    throw invalidProp(construct, prop, value, "expected an IPv4 CIDR such as 10.0.0.0/24");
}

/** Throws a named error unless `value` is non-empty. */
export function requireNonEmpty(construct: string, prop: string, value: string): void {
  if (value.trim() === "") throw invalidProp(construct, prop, value, "must not be empty");
}

/** A Terraform-safe construct id from a node or pool name. */
export function idOf(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]/g, "_");
}
