/**
 * AWS Signature Version 4 for S3 requests (header-based), with node:crypto. Pure: the caller
 * passes the time. The payload hash goes in x-amz-content-sha256, as S3 requires.
 */
import { createHash, createHmac } from "node:crypto";

/** Access key pair; the secret never leaves this module except as an HMAC key. */
export interface S3Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** A request to sign. `path` is the decoded object path (`/bucket/key`); `query` unencoded pairs. */
export interface SignInput {
  readonly method: string;
  readonly url: URL;
  /** Header names in any case; host, x-amz-date and x-amz-content-sha256 are added. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Hex sha256 of the body (of "" for none). */
  readonly payloadHash: string;
  readonly region: string;
  readonly now: Date;
  readonly service?: string;
}

/** sha256 hex of a string or bytes. */
export const sha256Hex = (b: string | Buffer): string => createHash("sha256").update(b).digest("hex");

const hmac = (key: Buffer | string, data: string): Buffer => createHmac("sha256", key).update(data).digest();

/** RFC 3986 encoding as SigV4 wants it: everything but A–Z a–z 0–9 - . _ ~ is %XX (UTF-8). */
export function uriEncode(s: string, keepSlash = false): string {
  let out = "";
  for (const byte of Buffer.from(s, "utf8")) {
    const c = String.fromCharCode(byte);
    out +=
      /[A-Za-z0-9\-._~]/.test(c) || (keepSlash && c === "/")
        ? c
        : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** `20130524T000000Z` */
export const amzDate = (d: Date): string =>
  d
    .toISOString()
    .replace(/\.\d{3}Z$/, "Z")
    .replace(/[-:]/g, "");

/** The canonical request of SigV4 (exported so a test can compare it with a published example). */
export function canonicalRequest(i: SignInput, headers: Record<string, string>): { text: string; signed: string } {
  const path = uriEncode(decodeURIComponent(i.url.pathname), true);
  const query = [...i.url.searchParams.entries()]
    .map(([k, v]) => [uriEncode(k), uriEncode(v)] as const)
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
  const names = Object.keys(headers).sort();
  const canon = names.map((n) => `${n}:${headers[n]!.trim().replace(/\s+/g, " ")}\n`).join("");
  const signed = names.join(";");
  return { text: [i.method, path, query, canon, signed, i.payloadHash].join("\n"), signed };
}

/** Signs a request: returns every header to send, Authorization included. */
export function signRequest(i: SignInput, creds: S3Credentials): Record<string, string> {
  const service = i.service ?? "s3";
  const date = amzDate(i.now);
  const day = date.slice(0, 8);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(i.headers ?? {})) headers[k.toLowerCase()] = v;
  headers.host = i.url.host;
  headers["x-amz-date"] = date;
  headers["x-amz-content-sha256"] = i.payloadHash;
  const { text, signed } = canonicalRequest(i, headers);
  const scope = `${day}/${i.region}/${service}/aws4_request`;
  const toSign = ["AWS4-HMAC-SHA256", date, scope, sha256Hex(text)].join("\n");
  const key = hmac(hmac(hmac(hmac(`AWS4${creds.secretAccessKey}`, day), i.region), service), "aws4_request");
  const signature = createHmac("sha256", key).update(toSign).digest("hex");
  return {
    ...headers,
    authorization: `AWS4-HMAC-SHA256 Credential=${creds.accessKeyId}/${scope}, SignedHeaders=${signed}, Signature=${signature}`,
  };
}
