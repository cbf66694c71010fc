/**
 * Finds secrets in what yagura wrote: its stdout and stderr, its op records, /metrics, and the
 * service logs on the nodes. A secret is found by its shape (a PEM private-key block, a bootstrap
 * token, a JWT such as a service-account token, an application credential secret written out) and
 * by its material: the key files of the environment's PKI (CAs, etcd, service accounts, the SSH
 * keys), the Secret encryption key and the state key, each looked for as written and base64-encoded
 * (a kubeconfig embeds a key that way). A finding names the source, the line and what was found,
 * never the secret itself. Used by the lab test and by bench/drill.ts.
 */
import { createPrivateKey } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

/** A secret value to look for, by name. */
export interface SecretValue {
  readonly name: string;
  readonly value: string;
}

/** One secret found. */
export interface Finding {
  readonly source: string;
  readonly line: number;
  /** What was found: a shape ("PEM private key block") or a secret's name. */
  readonly what: string;
}

/** Text to scan, with the name a finding reports. */
export interface ScanSource {
  readonly name: string;
  readonly text: string;
}

const SHAPES: readonly [string, RegExp][] = [
  ["PEM private key block", /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/],
  ["bootstrap token", /(?<![A-Za-z0-9.])[a-z0-9]{6}\.[a-z0-9]{16}(?![A-Za-z0-9])/],
  ["JWT (service-account or other bearer token)", /eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/],
  [
    "application credential secret",
    /application[_-]credential[_-]secret["']?\s*[:=]\s*["']?(?!\[?redacted)[^\s"'\]]{8,}/i,
  ],
  ["client key data", /client-key-data:\s*[A-Za-z0-9+/=]{16,}/],
];

/** The shortest stretch of base64 that counts as finding a secret. */
const MIN_CHARS = 16;

/** The base64 characters of `data` that encode only bytes inside [from, to): [start, end) in base64(data). */
function innerChars(from: number, to: number): [number, number] {
  return [Math.ceil(from / 3) * 4, Math.floor(to / 3) * 4];
}

/**
 * The private bytes of a PEM key: the private scalar of an EC or Ed25519 key (and the primes and
 * private exponent of an RSA key), or an OpenSSH Ed25519 key's seed. Public material a key file
 * also holds (an EC key carries its public point) is left out, so a certificate or public key
 * that shares it is not taken for the private key.
 */
function privateBytes(pem: string, der: Buffer): Buffer[] {
  if (/BEGIN OPENSSH PRIVATE KEY/.test(pem)) {
    // openssh-key-v1\0, cipher, kdf, kdf options, key count, public keys, then the private
    // section: two check ints, key type, public key, private key (seed ‖ public), comment.
    const cursor = (buf: Buffer, at: number) => ({
      u32: () => ((at += 4), buf.readUInt32BE(at - 4)),
      str: () => {
        const n = buf.readUInt32BE(at);
        at += 4 + n;
        return buf.subarray(at - n, at);
      },
    });
    const outer = cursor(der, "openssh-key-v1\0".length);
    outer.str(); // cipher
    outer.str(); // kdf
    outer.str(); // kdf options
    const keys = outer.u32();
    for (let i = 0; i < keys; i++) outer.str();
    const inner = cursor(outer.str(), 8);
    if (inner.str().toString() !== "ssh-ed25519") return [];
    inner.str(); // public key
    return [Buffer.from(inner.str().subarray(0, 32))];
  }
  const jwk = createPrivateKey(pem).export({ format: "jwk" });
  return (["d", "p", "q"] as const)
    .map((k) => jwk[k])
    .filter((v): v is string => typeof v === "string")
    .map((v) => Buffer.from(v, "base64url"));
}

/**
 * Stretches of text that can only come from `value`: for a PEM key, the base64 of its private bytes
 * as the PEM body writes them (whole, and the piece on each 64-character line) and as base64 of
 * the whole PEM text encodes them (a kubeconfig's client-key-data); for any other value, the value
 * and its base64.
 */
export function needlesOf(value: string): string[] {
  const pem = /-----BEGIN [^-]+-----\n([\s\S]*?)\n-----END/.exec(value);
  const out = new Set<string>();
  if (!pem) {
    for (const s of [value.trim(), Buffer.from(value.trim()).toString("base64")]) if (s.length >= MIN_CHARS) out.add(s);
    return [...out];
  }
  const lines = pem[1]!.split("\n");
  const body = lines.join("");
  const der = Buffer.from(body, "base64");
  const bodyStart = pem.index + value.slice(pem.index).indexOf("\n") + 1;
  const text64 = Buffer.from(value).toString("base64");
  const width = lines[0]!.length + 1;
  for (const secret of privateBytes(value, der)) {
    const off = der.indexOf(secret);
    if (off < 0) continue;
    const [c0, c1] = innerChars(off, off + secret.length);
    if (c1 - c0 >= MIN_CHARS) out.add(body.slice(c0, c1));
    // The same characters as wrapped in the PEM text: the longest piece on one line, and its base64.
    for (let c = c0; c < c1;) {
      const lineEnd = (Math.floor(c / (width - 1)) + 1) * (width - 1);
      const end = Math.min(c1, lineEnd);
      if (end - c >= MIN_CHARS) {
        out.add(body.slice(c, end));
        const t = bodyStart + Math.floor(c / (width - 1)) * width + (c % (width - 1));
        const [t0, t1] = innerChars(t, t + (end - c));
        if (t1 - t0 >= MIN_CHARS) out.add(text64.slice(t0, t1));
      }
      c = end;
    }
  }
  return [...out];
}

/** Every finding in the sources. */
export function scanSecrets(sources: readonly ScanSource[], secrets: readonly SecretValue[]): Finding[] {
  const needles = secrets.flatMap((s) => needlesOf(s.value).map((n) => ({ name: s.name, n })));
  const out: Finding[] = [];
  for (const src of sources) {
    const lines = src.text.split("\n");
    lines.forEach((text, i) => {
      for (const [what, re] of SHAPES) if (re.test(text)) out.push({ source: src.name, line: i + 1, what });
      for (const { name, n } of needles)
        if (text.includes(n)) out.push({ source: src.name, line: i + 1, what: `material of ${name}` });
    });
  }
  return out;
}

/** Files under `dir` (recursively), skipping sockets and other non-files. */
export function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .map((f) => join(dir, f))
    .filter((f) => {
      try {
        return statSync(f).isFile();
      } catch {
        return false;
      }
    });
}

/** Files as sources (missing ones are skipped). */
export function fileSources(files: readonly string[]): ScanSource[] {
  return files.filter((f) => existsSync(f)).map((f) => ({ name: f, text: readFileSync(f, "utf8") }));
}

/**
 * The secrets of an environment's local state: every file in the PKI and SSH directories that
 * holds a private key, the Secret encryption key, and `extra` (the state key, credentials).
 */
export function stateSecrets(envDir: string, extra: readonly SecretValue[] = []): SecretValue[] {
  const out: SecretValue[] = [...extra];
  for (const f of [...filesUnder(join(envDir, "pki")), ...filesUnder(join(envDir, "ssh"))]) {
    const text = readFileSync(f, "utf8");
    if (/PRIVATE KEY-----/.test(text)) out.push({ name: f.slice(envDir.length + 1), value: text });
    const enc = /"secret"\s*:\s*"([A-Za-z0-9+/=]{40,})"/.exec(text);
    if (enc) out.push({ name: `${f.slice(envDir.length + 1)} (Secret encryption key)`, value: enc[1]! });
  }
  return out;
}

/**
 * The logs on a lab node that yagura set up: every file under the node's /var/log (runit's
 * svlogd writes each service's log there), read from the node's overlay upper dir on the host.
 */
export function labNodeLogs(nodeDir: string): string[] {
  return filesUnder(join(nodeDir, "upper", "var", "log"));
}
