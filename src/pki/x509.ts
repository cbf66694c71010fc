/**
 * Certificate primitives on @peculiar/x509 with Node's WebCrypto: ECDSA P-256 keys, self-signed CAs
 * and leaf certificates with the extensions TLS stacks (Go's crypto/tls, OpenSSL) check.
 */
import { webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

const subtle = webcrypto.subtle;
const EC = { name: "ECDSA", namedCurve: "P-256" } as const;
const SIGNING = { name: "ECDSA", hash: "SHA-256" } as const;
const DAY_MS = 24 * 60 * 60 * 1000;
/** Backdate notBefore so a node whose clock is a little behind ours accepts a fresh certificate. */
const BACKDATE_MS = 5 * 60 * 1000;

/** What a leaf certificate is for: TLS server, TLS client, or both. */
export type Usage = "server" | "client";

/** A key pair plus its PKCS#8 PEM, as held in memory. */
export interface KeyPairPem {
  readonly keys: CryptoKeyPair;
  readonly keyPem: string;
}

/** A CA ready to sign: certificate, its PEM, and its private key. */
export interface SigningCA {
  readonly cert: x509.X509Certificate;
  readonly certPem: string;
  readonly key: CryptoKey;
}

/** The identity and extensions of a leaf certificate. */
export interface LeafProfile {
  readonly commonName: string;
  readonly organization?: string | readonly string[];
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
  readonly usages: readonly Usage[];
  readonly validityDays: number;
}

/** PEM files end with a newline; tools that concatenate bundles rely on it. */
const nl = (pem: string) => (pem.endsWith("\n") ? pem : pem + "\n");

/** Generates an ECDSA P-256 key pair (extractable, so the private key can be stored). */
export async function generateKeyPair(): Promise<KeyPairPem> {
  const keys = (await subtle.generateKey(EC, true, ["sign", "verify"])) as CryptoKeyPair;
  const der = await subtle.exportKey("pkcs8", keys.privateKey);
  return { keys, keyPem: nl(x509.PemConverter.encode(der, "PRIVATE KEY")) };
}

/** Imports a PKCS#8 PEM ECDSA P-256 private key for signing. */
export async function importPrivateKey(pem: string): Promise<CryptoKey> {
  const der = x509.PemConverter.decode(pem)[0];
  if (!der) throw new Error("no PEM block in private key");
  return subtle.importKey("pkcs8", der, EC, true, ["sign"]);
}

/** SubjectPublicKeyInfo PEM of a public key (for the service-account key pair). */
export async function publicKeyPem(key: CryptoKey): Promise<string> {
  return nl(x509.PemConverter.encode(await subtle.exportKey("spki", key), "PUBLIC KEY"));
}

/** SubjectPublicKeyInfo PEM of the public half of a PKCS#8 ECDSA P-256 private key. */
export async function publicKeyPemOf(privatePem: string): Promise<string> {
  const { d: _d, key_ops: _ops, ...pub } = await subtle.exportKey("jwk", await importPrivateKey(privatePem));
  return publicKeyPem(await subtle.importKey("jwk", pub, EC, true, ["verify"]));
}

/** A positive 128-bit random serial (RFC 5280 allows up to 20 octets; the top bit clear keeps it positive). */
function randomSerial(): string {
  const b = webcrypto.getRandomValues(new Uint8Array(16));
  b[0] = (b[0]! & 0x7f) | 0x01; // non-zero leading octet: no DER minimal-encoding surprises
  return Buffer.from(b).toString("hex");
}

function subjectName(commonName: string, organization?: string | readonly string[]): x509.Name {
  const orgs = organization === undefined ? [] : typeof organization === "string" ? [organization] : [...organization];
  // JsonName avoids string-DN parsing, so a value with commas or '=' cannot change the structure.
  return new x509.Name([...orgs.map((o) => ({ O: [o] })), { CN: [commonName] }]);
}

function validity(now: Date, days: number) {
  return { notBefore: new Date(now.getTime() - BACKDATE_MS), notAfter: new Date(now.getTime() + days * DAY_MS) };
}

/** Creates a self-signed CA (keyCertSign, cRLSign, basicConstraints CA:TRUE critical). */
export async function createCA(commonName: string, now: Date, validityDays: number): Promise<SigningCA & KeyPairPem> {
  const kp = await generateKeyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: subjectName(commonName),
    ...validity(now, validityDays),
    keys: kp.keys,
    signingAlgorithm: SIGNING,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(kp.keys.publicKey),
    ],
  });
  return { ...kp, cert, certPem: nl(cert.toString("pem")), key: kp.keys.privateKey };
}

/** Issues a leaf certificate for a fresh key pair, signed by `ca`. */
export async function createLeaf(
  ca: SigningCA,
  p: LeafProfile,
  now: Date,
): Promise<{ certPem: string; keyPem: string }> {
  if (p.usages.length === 0) throw new Error(`certificate ${p.commonName}: at least one usage is required`);
  const kp = await generateKeyPair();
  const eku = [...new Set(p.usages)].map((u) =>
    u === "server" ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth,
  );
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
    new x509.ExtendedKeyUsageExtension(eku, false),
    await x509.SubjectKeyIdentifierExtension.create(kp.keys.publicKey),
    await x509.AuthorityKeyIdentifierExtension.create(ca.cert, false),
  ];
  const names = [
    ...p.dnsNames.map((value) => ({ type: "dns" as const, value })),
    ...p.ipAddresses.map((value) => ({ type: "ip" as const, value })),
  ];
  if (names.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(names, false));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: subjectName(p.commonName, p.organization),
    issuer: ca.cert.subjectName,
    ...validity(now, p.validityDays),
    publicKey: kp.keys.publicKey,
    signingKey: ca.key,
    signingAlgorithm: SIGNING,
    extensions,
  });
  return { certPem: nl(cert.toString("pem")), keyPem: kp.keyPem };
}

/** True when the PKCS#8 private key is the one whose public half the certificate carries. */
export async function keyMatchesCert(keyPem: string, cert: x509.X509Certificate): Promise<boolean> {
  const priv = await subtle.exportKey("jwk", await importPrivateKey(keyPem));
  const pub = await subtle.exportKey("jwk", (await cert.publicKey.export()) as CryptoKey);
  return priv.x === pub.x && priv.y === pub.y;
}

/** What an existing leaf says about itself, in the terms of a LeafProfile, for comparison. */
export function describeLeaf(cert: x509.X509Certificate) {
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
  const usages: Usage[] = [];
  const ekus = (eku?.usages ?? []).map(String);
  if (ekus.includes(x509.ExtendedKeyUsage.serverAuth)) usages.push("server");
  if (ekus.includes(x509.ExtendedKeyUsage.clientAuth)) usages.push("client");
  return {
    commonName: cert.subjectName.getField("CN")[0] ?? "",
    organization: cert.subjectName.getField("O"),
    dnsNames: (san?.names.items ?? []).filter((n) => n.type === "dns").map((n) => n.value),
    ipAddresses: (san?.names.items ?? []).filter((n) => n.type === "ip").map((n) => n.value),
    usages,
  };
}

export { x509 };
