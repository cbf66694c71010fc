/**
 * Finds secrets in what yagura wrote: its stdout and stderr, its op records, /metrics, and the
 * service logs on the nodes. A secret is found by its shape (a PEM private-key block, a bootstrap
 * token, a JWT such as a service-account token, an application credential secret written out) and
 * by its material: the key files of the environment's PKI (CAs, etcd, service accounts, the SSH
 * keys), the Secret encryption key and the state key, each looked for as written and base64-encoded
 * (a kubeconfig embeds a key that way). A finding names the source, the line and what was found,
 * never the secret itself. Used by the lab test and by bench/drill.ts.
 */
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

/** The shortest stretch of a secret that counts as finding it. */
const WINDOW = 24;

/**
 * Stretches of `value` (and of its base64) long enough to be that secret alone: from the middle of
 * a PEM body (its first bytes are a header every key of that type shares), or the value itself
 * when it is short.
 */
export function needlesOf(value: string): string[] {
  const pem = /-----BEGIN [^-]+-----([\s\S]*?)-----END/.exec(value);
  const body = pem ? pem[1]!.replace(/\s+/g, "") : value.trim();
  const out = new Set<string>();
  const mid = (s: string) => {
    if (s.length <= WINDOW * 2) return s.length >= 16 ? s : undefined;
    const at = Math.floor(s.length / 2) - WINDOW;
    return s.slice(at, at + WINDOW);
  };
  for (const s of [body, Buffer.from(value).toString("base64"), Buffer.from(value.trim()).toString("base64")]) {
    const n = mid(s);
    if (n) out.add(n);
  }
  // A PEM body is written in 64-character lines; a window inside one line is found in either form.
  if (pem) for (const line of pem[1]!.split("\n").filter((l) => l.length >= 40)) out.add(line.slice(8, 8 + WINDOW));
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
