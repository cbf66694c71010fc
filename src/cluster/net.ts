/** Small IPv4/CIDR helpers shared by validation, stacks and the lab. Pure; no dependencies. */

/** Parses a dotted-quad IPv4 address to a 32-bit unsigned number, or undefined. */
export function parseIPv4(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  let n = 0;
  for (let i = 1; i <= 4; i++) {
    const o = Number(m[i]);
    if (o > 255 || (m[i]!.length > 1 && m[i]!.startsWith("0"))) return undefined;
    n = n * 256 + o;
  }
  return n;
}

/** Formats a 32-bit number as dotted quad. */
export function formatIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

/** Adds `k` to an IPv4 address; throws on an invalid address (validate first). */
export function addToIPv4(addr: string, k: number): string {
  const n = parseIPv4(addr);
  if (n === undefined) throw new Error(`invalid IPv4 address ${JSON.stringify(addr)}`);
  return formatIPv4((n + k) >>> 0);
}

/** A parsed IPv4 CIDR: network base and prefix length. */
export interface Cidr {
  readonly base: number;
  readonly prefix: number;
  /** Number of addresses. */
  readonly size: number;
}

/** Parses `a.b.c.d/n`; returns undefined when malformed or when host bits are set. */
export function parseCidr(s: string): Cidr | undefined {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(s);
  if (!m) return undefined;
  const base = parseIPv4(m[1]!);
  const prefix = Number(m[2]);
  if (base === undefined || prefix > 32) return undefined;
  const size = 2 ** (32 - prefix);
  if (base % size !== 0) return undefined;
  return { base, prefix, size };
}

/** True when the two ranges share any address. */
export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return a.base < b.base + b.size && b.base < a.base + a.size;
}

/** True when the address lies in the CIDR. */
export function cidrContains(c: Cidr, addr: number): boolean {
  return addr >= c.base && addr < c.base + c.size;
}

/** The n-th address of a CIDR (n=1 is the first host; used for the kubernetes service IP). */
export function nthAddress(c: Cidr, n: number): string {
  return formatIPv4((c.base + n) >>> 0);
}
