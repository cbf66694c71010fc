/**
 * A small S3 client (path-style: `<endpoint>/<bucket>/<key>`, as Swift's S3 API, Ceph RGW and
 * MinIO accept): PUT of a file (streamed, sha256-signed, checked against the returned ETag), GET to
 * a file, ListObjectsV2 and DELETE, each SigV4-signed. Errors name the method, the object and S3's
 * own code; credentials appear in none of them.
 */
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream, statSync } from "node:fs";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { pipeline } from "node:stream/promises";
import { sha256Hex, signRequest, type S3Credentials } from "./sigv4.js";

/** Where and as whom. */
export interface S3Config {
  /** Base URL of the S3 API, e.g. https://object-store.example.com or http://127.0.0.1:9000. */
  readonly endpoint: string;
  readonly bucket: string;
  readonly region: string;
  readonly credentials: S3Credentials;
}

/** One object of a listing. */
export interface S3Object {
  readonly key: string;
  readonly size: number;
}

/** An S3 request that failed: method, object, HTTP status and S3's error code. */
export class S3Error extends Error {
  override readonly name = "S3Error";
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
  ) {
    super(message);
  }
}

/** The operations the snapshot upload needs. */
export interface S3Client {
  readonly location: string;
  putFile(key: string, file: string, contentType?: string): Promise<void>;
  putText(key: string, body: string, contentType?: string): Promise<void>;
  getToFile(key: string, file: string): Promise<void>;
  getText(key: string): Promise<string>;
  list(prefix: string): Promise<S3Object[]>;
  remove(key: string): Promise<void>;
}

const EMPTY = sha256Hex("");

async function hashFile(file: string): Promise<{ sha256: string; md5: string }> {
  const s = createHash("sha256");
  const m = createHash("md5");
  for await (const chunk of createReadStream(file)) {
    s.update(chunk as Buffer);
    m.update(chunk as Buffer);
  }
  return { sha256: s.digest("hex"), md5: m.digest("hex") };
}

const readAll = async (res: IncomingMessage): Promise<string> => {
  const parts: Buffer[] = [];
  for await (const c of res) parts.push(c as Buffer);
  return Buffer.concat(parts).toString("utf8");
};

const xmlText = (s: string) =>
  s
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, "&");
const tag = (xml: string, name: string) => {
  const m = new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(xml);
  return m ? xmlText(m[1]!) : undefined;
};

/** Creates a client for one bucket. */
export function s3Client(c: S3Config, timeoutMs = 300_000): S3Client {
  const base = new URL(c.endpoint.replace(/\/+$/, "") + "/");
  const location = `s3://${c.bucket} at ${base.origin}`;
  const urlOf = (key: string, query: Record<string, string> = {}) => {
    const u = new URL(`${base.pathname}${c.bucket}/${key.split("/").map(encodeURIComponent).join("/")}`, base);
    for (const [k, v] of Object.entries(query)) u.searchParams.set(k, v);
    return u;
  };

  const send = (
    method: string,
    url: URL,
    payloadHash: string,
    body?: { file?: string; text?: string; length: number; contentType?: string },
  ): Promise<IncomingMessage> => {
    const extra: Record<string, string> = {};
    if (body) {
      extra["content-length"] = String(body.length);
      if (body.contentType) extra["content-type"] = body.contentType;
    }
    const headers = signRequest(
      { method, url, headers: extra, payloadHash, region: c.region, now: new Date() },
      c.credentials,
    );
    const req = (url.protocol === "https:" ? httpsRequest : httpRequest)(url, { method, headers, timeout: timeoutMs });
    return new Promise((resolve, reject) => {
      req.on("response", resolve);
      req.on("error", reject);
      req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)));
      if (body?.file) createReadStream(body.file).on("error", reject).pipe(req);
      else req.end(body?.text);
    });
  };

  /** Sends, and turns a non-2xx answer into an S3Error; the caller consumes a 2xx body. */
  const call = async (what: string, ...a: Parameters<typeof send>): Promise<IncomingMessage> => {
    let res: IncomingMessage;
    try {
      res = await send(...a);
    } catch (err) {
      throw new S3Error(`${what} on ${location}: ${(err as Error).message}`, 0, "NetworkError");
    }
    const status = res.statusCode ?? 0;
    if (status >= 200 && status < 300) return res;
    const xml = await readAll(res).catch(() => "");
    const code = tag(xml, "Code") ?? `HTTP${status}`;
    throw new S3Error(
      `${what} on ${location}: ${status} ${code}: ${tag(xml, "Message") ?? "no message"}`,
      status,
      code,
    );
  };

  return {
    location,
    async putFile(key, file, contentType = "application/octet-stream") {
      const { sha256, md5 } = await hashFile(file);
      const res = await call(`PUT ${key}`, "PUT", urlOf(key), sha256, {
        file,
        length: statSync(file).size,
        contentType,
      });
      await readAll(res);
      // A single-part upload's ETag is the MD5 of the body: a cheap end-to-end check of what was stored.
      const etag = String(res.headers.etag ?? "").replace(/"/g, "");
      if (/^[0-9a-f]{32}$/.test(etag) && etag !== md5)
        throw new S3Error(
          `PUT ${key} on ${location}: stored ETag ${etag} is not the file's MD5 ${md5}`,
          0,
          "BadDigest",
        );
    },
    async putText(key, text, contentType = "application/json") {
      const res = await call(`PUT ${key}`, "PUT", urlOf(key), sha256Hex(text), {
        text,
        length: Buffer.byteLength(text),
        contentType,
      });
      await readAll(res);
    },
    async getToFile(key, file) {
      const res = await call(`GET ${key}`, "GET", urlOf(key), EMPTY);
      await pipeline(res, createWriteStream(file, { mode: 0o600, flags: "wx" }));
    },
    async getText(key) {
      return readAll(await call(`GET ${key}`, "GET", urlOf(key), EMPTY));
    },
    async list(prefix) {
      const out: S3Object[] = [];
      let token: string | undefined;
      do {
        const q: Record<string, string> = {
          "list-type": "2",
          prefix,
          ...(token ? { "continuation-token": token } : {}),
        };
        const xml = await readAll(await call(`LIST ${prefix}*`, "GET", urlOf("", q), EMPTY));
        for (const m of xml.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g))
          out.push({ key: tag(m[1]!, "Key") ?? "", size: Number(tag(m[1]!, "Size") ?? 0) });
        token = tag(xml, "IsTruncated") === "true" ? tag(xml, "NextContinuationToken") : undefined;
      } while (token);
      return out;
    },
    async remove(key) {
      await readAll(await call(`DELETE ${key}`, "DELETE", urlOf(key), EMPTY));
    },
  };
}
