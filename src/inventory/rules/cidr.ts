/** CIDR parsing for the rules: a malformed value and a value with host bits set get different advice. */
import type { Finding } from "./index.js";
import { formatIPv4, parseCidr, parseIPv4, type Cidr } from "../../cluster/net.js";

/** Parses `value` as an IPv4 CIDR, or pushes a finding that says how to fix it. */
export function cidrOrFinding(
  path: (string | number)[],
  value: string,
  what: string,
  out: Finding[],
): Cidr | undefined {
  const c = parseCidr(value);
  if (c) return c;
  const m = /^([^/]+)\/(\d{1,2})$/.exec(value);
  const addr = m ? parseIPv4(m[1]!) : undefined;
  const prefix = m ? Number(m[2]) : NaN;
  if (addr !== undefined && prefix <= 32) {
    const size = 2 ** (32 - prefix);
    const base = Math.floor(addr / size) * size;
    out.push({
      path,
      message: `${what} ${JSON.stringify(value)} has host bits set: a /${prefix} network starts at ${formatIPv4(base)}, so write ${formatIPv4(base)}/${prefix} (or change the prefix length)`,
    });
  } else {
    out.push({
      path,
      message: `${what} ${JSON.stringify(value)} is not an IPv4 CIDR: write it as a network address and prefix length, e.g. 10.0.0.0/24`,
    });
  }
  return undefined;
}

/** Renders a CIDR back as text. */
export function cidrText(c: Cidr): string {
  return `${formatIPv4(c.base)}/${c.prefix}`;
}

/** Finding for a value that should be a dotted-quad IPv4 address. */
export function ipv4Finding(path: (string | number)[], value: string, what: string): Finding[] {
  return parseIPv4(value) === undefined
    ? [
        {
          path,
          message: `${what} ${JSON.stringify(value)}: that is not an IPv4 address; write four decimal numbers 0–255 without leading zeros, e.g. 10.0.0.5`,
        },
      ]
    : [];
}
