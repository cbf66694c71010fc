/**
 * The string syntaxes the rules check against, with the upstream rule each one mirrors. Pure
 * predicates returning a reason (or undefined) so a rule can say exactly what is wrong.
 */

/** A DNS-1123 label: lower-case alphanumerics and '-', 1–63 characters, alphanumeric at both ends. */
export const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** A DNS-1123 subdomain: dot-separated labels, at most 253 characters. */
export function isDnsSubdomain(s: string): boolean {
  return s.length >= 1 && s.length <= 253 && s.split(".").every((l) => DNS1123_LABEL.test(l));
}

/** The name part of a Kubernetes label key, and every non-empty label value. */
const QUALIFIED_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/** Why `key` is not a Kubernetes label (or taint) key, or undefined when it is one. */
export function labelKeyProblem(key: string): string | undefined {
  const slash = key.indexOf("/");
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined) {
    if (!isDnsSubdomain(prefix)) {
      return `its prefix ${JSON.stringify(prefix)} must be a DNS subdomain (lower-case labels joined by '.', at most 253 characters), e.g. node.example.com/role`;
    }
  }
  if (name.includes("/"))
    return "it has more than one '/': a key is an optional DNS-subdomain prefix, one '/', and a name (e.g. node.example.com/role)";
  if (name.length === 0)
    return prefix === undefined
      ? "the key is empty"
      : "the part after the '/' is empty; write a name such as example.com/role";
  const subject = prefix === undefined ? "the key" : "the name part";
  if (name.length > 63) return `${subject} is ${name.length} characters; the limit is 63`;
  if (!QUALIFIED_NAME.test(name)) {
    return `${subject} ${JSON.stringify(name)} may only hold letters, digits, '-', '_' and '.', beginning and ending with a letter or digit (at most one '/', after an optional DNS-subdomain prefix)`;
  }
  return undefined;
}

/** Why `value` is not a Kubernetes label value, or undefined when it is one (empty is allowed). */
export function labelValueProblem(value: string): string | undefined {
  if (value === "") return undefined;
  if (value.length > 63) return `it is ${value.length} characters; the limit is 63`;
  if (!QUALIFIED_NAME.test(value)) {
    return "it may only hold letters, digits, '-', '_' and '.', beginning and ending with a letter or digit (or be empty)";
  }
  return undefined;
}

/** True for an http(s) URL with a host and no credentials, query or fragment. */
export function isHttpUrl(s: string): boolean {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return false;
  }
  return (
    (u.protocol === "https:" || u.protocol === "http:") &&
    u.hostname !== "" &&
    u.username === "" &&
    u.password === "" &&
    u.search === "" &&
    u.hash === ""
  );
}

/** True for a DNS hostname (RFC 1123, letters case-insensitive). */
export function isHostname(s: string): boolean {
  return isDnsSubdomain(s.toLowerCase()) && !/^[\d.]+$/.test(s);
}

/** Parses `30s`, `5m`, `2h`, `30d`, `100ms` to milliseconds; undefined when malformed. */
export function parseDuration(s: string): number | undefined {
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(s);
  if (!m) return undefined;
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as "ms" | "s" | "m" | "h" | "d"];
  return Number(m[1]) * unit;
}

/** A release number split by semver: core numbers, pre-release and build metadata. */
export interface ParsedVersion {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  /** The dot-separated pre-release after '-' (`alpha.1-lab` of `1.24.0-alpha.1-lab`), if any. */
  readonly prerelease: string | undefined;
  /** The build metadata after '+', if any; it plays no part in ordering or equality. */
  readonly build: string | undefined;
}

const CORE = "(0|[1-9]\\d{0,3})";
const PRE_ID = "(?:0|[1-9]\\d*|\\d*[A-Za-z-][0-9A-Za-z-]*)";
const VERSION = new RegExp(
  `^v?${CORE}\\.${CORE}\\.${CORE}(?:-(${PRE_ID}(?:\\.${PRE_ID})*))?(?:\\+([0-9A-Za-z-]+(?:\\.[0-9A-Za-z-]+)*))?$`,
);

/**
 * A release number as semver 2.0.0 writes it, optionally with a leading v: `1.33.5`, `v1.24.0-alpha.1`,
 * `v1.24.0-alpha.1-lab` (what a locally built binary reports), `1.33.5+build.7`. Kubernetes and etcd
 * releases both follow it. Undefined when malformed (no patch, leading zeros, empty identifiers).
 */
export function parseKubeVersion(s: string): ParsedVersion | undefined {
  const m = VERSION.exec(s);
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), prerelease: m[4], build: m[5] };
}

/** Semver precedence of two pre-release identifiers: numbers by value, below any alphanumeric one. */
function compareIdentifiers(a: string, b: string): number {
  const an = /^\d+$/.test(a);
  const bn = /^\d+$/.test(b);
  if (an && bn) return a.length !== b.length ? a.length - b.length : a < b ? -1 : a > b ? 1 : 0;
  if (an !== bn) return an ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Orders two parsed versions by semver precedence (negative, 0, positive): a pre-release comes before
 * its release (`1.24.0-alpha.1` < `1.24.0`), build metadata is ignored.
 */
export function compareVersions(a: ParsedVersion, b: ParsedVersion): number {
  const core = a.major - b.major || a.minor - b.minor || a.patch - b.patch;
  if (core !== 0) return Math.sign(core);
  if (a.prerelease === b.prerelease) return 0;
  if (a.prerelease === undefined) return 1;
  if (b.prerelease === undefined) return -1;
  const x = a.prerelease.split(".");
  const y = b.prerelease.split(".");
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const c = compareIdentifiers(x[i]!, y[i]!);
    if (c !== 0) return Math.sign(c);
  }
  return Math.sign(x.length - y.length);
}
