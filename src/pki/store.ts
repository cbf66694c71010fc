/**
 * An environment's PKI on local disk: one CA per trust domain, leaf certificates issued from them,
 * and the service-account key pair. Files are `<name>.crt` (0644) and `<name>.key` (0600) in a 0700
 * directory; every write is atomic. Certificates are reused until they enter the renewal window or
 * stop matching what was asked for.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { ensureDir, writeFileAtomic } from "./files.js";
import {
  createCA,
  createLeaf,
  describeLeaf,
  generateKeyPair,
  importPrivateKey,
  keyMatchesCert,
  publicKeyPem,
  publicKeyPemOf,
  x509,
  type LeafProfile,
  type SigningCA,
  type Usage,
} from "./x509.js";
import { UserError } from "../cli/errors.js";

/** The separate trust domains: a certificate from one never authenticates in another. */
export const CA_KINDS = ["etcd-peer", "etcd-client", "kubernetes", "front-proxy"] as const;
/** One of the CAs. */
export type CaKind = (typeof CA_KINDS)[number];

/** Default lifetimes: CAs ten years, leaves one year. */
export const DEFAULT_VALIDITY_DAYS = { ca: 3650, leaf: 365 } as const;

/** A leaf certificate request; `name` is the file name stem in the PKI directory. */
export interface IssueRequest {
  readonly name: string;
  readonly commonName: string;
  readonly organization?: string | readonly string[];
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
  readonly usages: readonly Usage[];
  /** @default 365 */
  readonly validityDays?: number;
}

/** A certificate, its private key and the certificate of the CA that signed it (PEM text). */
export interface IssuedCert {
  readonly certPem: string;
  readonly keyPem: string;
  readonly caPem: string;
}

/** The PKI of one environment. */
export interface Pki {
  readonly dir: string;
  /** Loads the CA of `kind`, creating it on first use; returns its certificate PEM. */
  ensureCA(kind: CaKind, now: Date): Promise<string>;
  /** Issues a new certificate from the CA of `kind` and stores it as `<name>.crt/.key`. */
  issue(kind: CaKind, req: IssueRequest, now: Date): Promise<IssuedCert>;
  /** Returns the stored certificate when it still matches `req` and is outside the renewal window; else issues. */
  loadOrIssue(
    kind: CaKind,
    req: IssueRequest,
    now: Date,
    renewBeforeMs: number,
  ): Promise<IssuedCert & { issued: boolean }>;
  /** Loads (or creates) the service-account signing key pair `sa.key` / `sa.pub`. */
  ensureServiceAccountKey(): Promise<{ privateKeyPem: string; publicKeyPem: string }>;
}

/** True when the certificate expires within `renewBeforeMs` of `now` (or is not yet valid). */
export function needsRenewal(certPem: string, now: Date, renewBeforeMs: number): boolean {
  const cert = new x509.X509Certificate(certPem);
  return cert.notAfter.getTime() - renewBeforeMs <= now.getTime() || cert.notBefore.getTime() > now.getTime();
}

const NAME = /^[a-z0-9][a-z0-9._-]{0,100}$/;

function checkName(name: string): void {
  // The name becomes a file name: refuse separators and dot-dot rather than trust the caller.
  if (!NAME.test(name) || name.includes("..")) throw new Error(`invalid PKI file name ${JSON.stringify(name)}`);
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

const sameSet = (a: readonly string[], b: readonly string[]) => {
  const x = new Set(a);
  const y = new Set(b);
  return x.size === y.size && [...x].every((v) => y.has(v));
};

/**
 * Leaves already found to match their request, CA and key, by a digest of all four, with their
 * validity: a watch asks for the same certificates every pass, and parsing, verifying and matching
 * each one again cost ~40 ms apiece (hundreds of kubelet certificates on a big cluster). Only the
 * time check is made again; a changed file, request or CA is a new entry.
 */
const matched = new Map<string, { notBefore: number; notAfter: number }>();
const MATCHED_MAX = 20_000;

/** Opens (creating if needed) the PKI stored in `dir`. */
export function openPki(dir: string): Pki {
  const cas = new Map<CaKind, Promise<SigningCA>>();
  const busy = new Map<string, Promise<unknown>>();
  /** Runs tasks on one file name one after another, so two callers never interleave key and cert writes. */
  function serial<T>(name: string, task: () => Promise<T>): Promise<T> {
    const run = (busy.get(name) ?? Promise.resolve()).then(task, task);
    const tail = run.catch(() => undefined);
    busy.set(name, tail);
    void tail.then(() => busy.get(name) === tail && busy.delete(name));
    return run;
  }
  let dirReady: Promise<void> | undefined;
  const prepare = () => (dirReady ??= ensureDir(dir, 0o700));
  const crt = (name: string) => join(dir, `${name}.crt`);
  const key = (name: string) => join(dir, `${name}.key`);

  async function store(name: string, certPem: string, keyPem: string): Promise<void> {
    await prepare();
    // Key first: a crash between the two leaves a new key with an old cert, which fails the
    // key-match check below and is reissued, rather than a new cert nobody holds the key for.
    await writeFileAtomic(key(name), keyPem, 0o600);
    await writeFileAtomic(crt(name), certPem, 0o644);
  }

  async function loadCA(kind: CaKind, now: Date): Promise<SigningCA> {
    await prepare();
    const name = `${kind}-ca`;
    const [certPem, keyPem] = await Promise.all([readIfExists(crt(name)), readIfExists(key(name))]);
    if (certPem && keyPem) {
      return { cert: new x509.X509Certificate(certPem), certPem, key: await importPrivateKey(keyPem) };
    }
    if (certPem || keyPem) {
      throw new UserError(
        `${name}: only one of ${crt(name)} and ${key(name)} exists; restore the other or remove both to create a new CA`,
      );
    }
    const ca = await createCA(`yagura ${kind} CA`, now, DEFAULT_VALIDITY_DAYS.ca);
    await store(name, ca.certPem, ca.keyPem);
    return ca;
  }

  function signingCA(kind: CaKind, now: Date): Promise<SigningCA> {
    // One promise per kind: parallel callers (several nodes at once) must not create two CAs.
    let p = cas.get(kind);
    if (!p) {
      p = loadCA(kind, now);
      p.catch(() => cas.delete(kind));
      cas.set(kind, p);
    }
    return p;
  }

  async function issueNow(kind: CaKind, req: IssueRequest, now: Date): Promise<IssuedCert> {
    const ca = await signingCA(kind, now);
    const profile: LeafProfile = { ...req, validityDays: req.validityDays ?? DEFAULT_VALIDITY_DAYS.leaf };
    const leaf = await createLeaf(ca, profile, now);
    await store(req.name, leaf.certPem, leaf.keyPem);
    return { ...leaf, caPem: ca.certPem };
  }

  async function issue(kind: CaKind, req: IssueRequest, now: Date): Promise<IssuedCert> {
    checkName(req.name);
    return serial(req.name, () => issueNow(kind, req, now));
  }

  async function reusable(
    ca: SigningCA,
    req: IssueRequest,
    certPem: string,
    keyPem: string,
    now: Date,
    windowMs: number,
  ) {
    const id = createHash("sha256")
      .update(JSON.stringify([ca.certPem, req, certPem, keyPem]))
      .digest("hex");
    const known = matched.get(id);
    if (known) return known.notAfter - windowMs > now.getTime() && known.notBefore <= now.getTime();
    const cert = new x509.X509Certificate(certPem);
    if (needsRenewal(certPem, now, windowMs)) return false;
    if (!(await cert.verify({ publicKey: ca.cert.publicKey, signatureOnly: true }))) return false;
    const have = describeLeaf(cert);
    const orgs =
      req.organization === undefined
        ? []
        : typeof req.organization === "string"
          ? [req.organization]
          : req.organization;
    if (have.commonName !== req.commonName || !sameSet(have.organization, orgs)) return false;
    if (!sameSet(have.dnsNames, req.dnsNames) || !sameSet(have.ipAddresses, req.ipAddresses)) return false;
    if (!sameSet(have.usages, req.usages)) return false;
    // The stored key must belong to the stored certificate (a crash between the two writes).
    if (!(await keyMatchesCert(keyPem, cert))) return false;
    if (matched.size >= MATCHED_MAX) matched.delete(matched.keys().next().value!);
    matched.set(id, { notBefore: cert.notBefore.getTime(), notAfter: cert.notAfter.getTime() });
    return true;
  }

  return {
    dir,
    ensureCA: async (kind, now) => (await signingCA(kind, now)).certPem,
    issue,
    async loadOrIssue(kind, req, now, renewBeforeMs) {
      checkName(req.name);
      return serial(req.name, async () => {
        const ca = await signingCA(kind, now);
        const [certPem, keyPem] = await Promise.all([readIfExists(crt(req.name)), readIfExists(key(req.name))]);
        if (certPem && keyPem && (await reusable(ca, req, certPem, keyPem, now, renewBeforeMs).catch(() => false))) {
          return { certPem, keyPem, caPem: ca.certPem, issued: false };
        }
        return { ...(await issueNow(kind, req, now)), issued: true };
      });
    },
    async ensureServiceAccountKey() {
      await prepare();
      const [privateKeyPem, pub] = await Promise.all([readIfExists(key("sa")), readIfExists(join(dir, "sa.pub"))]);
      if (privateKeyPem && pub) return { privateKeyPem, publicKeyPem: pub };
      if (privateKeyPem) {
        // The public half went missing (a crash between the writes): derive it, never replace the
        // private key, or every service-account token issued so far stops verifying.
        const publicPem = await publicKeyPemOf(privateKeyPem);
        await writeFileAtomic(join(dir, "sa.pub"), publicPem, 0o644);
        return { privateKeyPem, publicKeyPem: publicPem };
      }
      const kp = await generateKeyPair();
      const publicPem = await publicKeyPem(kp.keys.publicKey);
      await writeFileAtomic(key("sa"), kp.keyPem, 0o600);
      await writeFileAtomic(join(dir, "sa.pub"), publicPem, 0o644);
      return { privateKeyPem: kp.keyPem, publicKeyPem: publicPem };
    },
  };
}
