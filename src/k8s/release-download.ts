/**
 * The IO of `artifacts.source: release`, on the machine yagura runs on (nodes need no route to the
 * release server; the k8s-artifacts op copies the files over SSH). Published checksums are read
 * once and kept beside their cache entry. A binary is streamed to a temporary file, hashed on the
 * way, and renamed into the cache only when it matches its pin or its published sha256, so a cut
 * short or wrong download never becomes a cache entry. However many nodes need a file at once, it is
 * downloaded once. A server that sends nothing for `idleTimeoutMs` (while connecting, before the
 * answer, or mid-file) fails the download with the URL and what to try.
 */
import { createHash, randomBytes } from "node:crypto";
import { chmod, mkdir, open, readdir, readFile, rename, rm } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { stateRoot } from "../cluster/paths.js";
import { sha256File } from "../infra/file-digest.js";
import type { ReleaseOrigin } from "./artifacts.js";
import { parsePublishedChecksum, type ReleaseFile } from "./release.js";
import { pidAlive } from "../infra/process.js";

/**
 * Where release downloads are kept: $YAGURA_CACHE_DIR, else `.cache/releases` under the state root
 * ($YAGURA_STATE_DIR or `.yagura`, which stays out of version control).
 */
export function releaseCacheDir(env: { readonly YAGURA_CACHE_DIR?: string } = process.env): string {
  const dir = env.YAGURA_CACHE_DIR;
  return dir !== undefined && dir !== "" ? resolve(dir) : join(stateRoot(), ".cache", "releases");
}

/** Why a download failed: the caller maps `not-found` to the inventory, the rest to a failed operation. */
export type DownloadFailure = "not-found" | "http" | "timeout" | "network" | "mismatch" | "malformed";

/** A download that failed; the message names the URL and what to change or try. */
export class DownloadError extends Error {
  override readonly name = "DownloadError";
  constructor(
    message: string,
    readonly reason: DownloadFailure,
  ) {
    super(message);
  }
}

/** How downloads report and give up. */
export interface DownloadOptions {
  /** No byte for this long (connecting, waiting for the answer, or mid-file) fails the download. */
  readonly idleTimeoutMs: number;
  /** Receives progress lines of a long download. @default a line on stderr */
  readonly progress?: (line: string) => void;
  /** A progress line at most this often. @default 5000 */
  readonly progressEveryMs?: number;
}

const LAYOUT = "<releaseUrl>/release/v<version>/bin/linux/<arch>/<name>";
const toStderr = (line: string) => void process.stderr.write(`${line}\n`);

/** GET with an idle timer that aborts when nothing arrives for idleTimeoutMs; `rearm` on every chunk. */
async function get(url: string, idleTimeoutMs: number) {
  const ac = new AbortController();
  let timedOut = false;
  let timer: NodeJS.Timeout | undefined;
  const rearm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      timedOut = true;
      ac.abort();
    }, idleTimeoutMs);
  };
  const fail = (err: unknown): DownloadError => {
    clearTimeout(timer);
    if (err instanceof DownloadError) return err;
    if (timedOut)
      return new DownloadError(
        `${url}: nothing arrived for ${idleTimeoutMs / 1000} s: check that the server answers (curl -fI ${url}), ` +
          `point artifacts.releaseUrl at a reachable mirror, or raise artifacts.downloadTimeout`,
        "timeout",
      );
    const e = err as Error & { cause?: { code?: string; message?: string } };
    const why = e.cause?.code ?? e.cause?.message ?? e.message;
    return new DownloadError(
      `cannot download ${url}: ${why}: check artifacts.releaseUrl and that this machine reaches it (proxy, firewall, DNS)`,
      "network",
    );
  };
  rearm();
  let res: Response;
  try {
    res = await fetch(url, { signal: ac.signal, redirect: "follow" });
  } catch (err) {
    throw fail(err);
  }
  if (!res.ok) {
    clearTimeout(timer);
    await res.body?.cancel().catch(() => undefined);
    throw new DownloadError(
      res.status === 404
        ? `${url} answered 404 Not Found: check cluster.kubernetesVersion, artifacts.arch and artifacts.releaseUrl (yagura fetches ${LAYOUT})`
        : `${url} answered ${res.status} ${res.statusText}: check artifacts.releaseUrl, or try again later`,
      res.status === 404 ? "not-found" : "http",
    );
  }
  return { res, rearm, fail, done: () => clearTimeout(timer) };
}

/** The checksum published beside a release file: from the cache when read before, else fetched and kept. */
export async function publishedChecksum(f: ReleaseFile, o: DownloadOptions): Promise<string> {
  const kept = `${f.cachePath}.sha256`;
  const cached = await readFile(kept, "utf8").then(parsePublishedChecksum, () => undefined);
  if (cached) return cached;
  const { res, fail, done } = await get(f.checksumUrl, o.idleTimeoutMs);
  let text: string;
  try {
    text = await res.text();
  } catch (err) {
    throw fail(err);
  }
  done();
  const sha = parsePublishedChecksum(text);
  if (!sha)
    throw new DownloadError(
      `${f.checksumUrl} does not hold a sha256 (it starts ${JSON.stringify(text.slice(0, 40))}): fix the mirror, point artifacts.releaseUrl at another, or pin the binary in artifacts.binaries`,
      "malformed",
    );
  await writeAtomically(kept, `${sha}\n`);
  return sha;
}

async function writeAtomically(path: string, content: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.part`;
  try {
    await open(tmp, "w", 0o644).then(async (fh) => {
      try {
        await fh.writeFile(content);
      } finally {
        await fh.close();
      }
    });
    await rename(tmp, path);
  } finally {
    await rm(tmp, { force: true });
  }
}

/** One binary the cache must hold: its expected sha256 and where it comes from. */
export interface ReleaseBinary {
  readonly name: string;
  readonly version: string;
  readonly sha256: string;
  readonly origin: ReleaseOrigin;
}

const inflight = new Map<string, Promise<void>>();

/**
 * Makes the cache hold `b` with its expected sha256: a cache entry that checks out is used as it
 * is; otherwise it is downloaded (once, however many callers ask at the same time).
 */
export function ensureReleaseBinary(b: ReleaseBinary, o: Partial<DownloadOptions> = {}): Promise<void> {
  const key = b.origin.cachePath;
  const running = inflight.get(key);
  if (running) return running;
  const job = (async () => {
    if ((await sha256File(key).catch(() => undefined)) === b.sha256) return;
    await download(b, { idleTimeoutMs: b.origin.idleTimeoutMs, ...o });
  })().finally(() => inflight.delete(key));
  inflight.set(key, job);
  return job;
}

const mb = (n: number) => (n / 1e6).toFixed(1);

/** Removes the temporary files of downloads whose process is gone (killed mid-download). */
async function removeAbandoned(cachePath: string): Promise<void> {
  const prefix = `${basename(cachePath)}.`;
  for (const f of await readdir(dirname(cachePath))) {
    const m = /^(\d+)\.[0-9a-f]+\.part$/.exec(f.startsWith(prefix) ? f.slice(prefix.length) : "");
    if (m && !pidAlive(Number(m[1]))) await rm(join(dirname(cachePath), f), { force: true });
  }
}

async function download(b: ReleaseBinary, o: DownloadOptions): Promise<void> {
  const { url, cachePath } = b.origin;
  const say = o.progress ?? toStderr;
  const every = o.progressEveryMs ?? 5000;
  await mkdir(dirname(cachePath), { recursive: true });
  await removeAbandoned(cachePath);
  const tmp = `${cachePath}.${process.pid}.${randomBytes(4).toString("hex")}.part`;
  const started = Date.now();
  try {
    const { res, rearm, fail, done } = await get(url, o.idleTimeoutMs);
    const total = Number(res.headers.get("content-length") ?? NaN);
    const size = Number.isFinite(total) ? ` (${mb(total)} MB)` : "";
    say(`downloading ${b.name} ${b.version} from ${url}${size}`);
    const hash = createHash("sha256");
    const fh = await open(tmp, "w", 0o600);
    let got = 0;
    let said = started;
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        rearm();
        hash.update(chunk);
        await fh.write(chunk);
        got += chunk.byteLength;
        if (Date.now() - said >= every) {
          said = Date.now();
          const pct =
            Number.isFinite(total) && total > 0 ? ` of ${mb(total)} MB (${Math.floor((100 * got) / total)}%)` : " MB";
          say(`  ${b.name}: ${mb(got)}${pct}`);
        }
      }
    } catch (err) {
      throw fail(err);
    } finally {
      done();
      await fh.close();
    }
    if (Number.isFinite(total) && got !== total)
      throw new DownloadError(`${url} ended after ${got} of ${total} bytes: try again, or check the server`, "network");
    const actual = hash.digest("hex");
    if (actual !== b.sha256) throw new DownloadError(mismatch(b, actual), "mismatch");
    await chmod(tmp, 0o755);
    await rename(tmp, cachePath);
    say(
      `downloaded ${b.name} ${b.version}: ${mb(got)} MB in ${((Date.now() - started) / 1000).toFixed(1)} s, sha256 ok`,
    );
  } finally {
    await rm(tmp, { force: true });
  }
}

/** The file, both checksums, and the setting to change. */
function mismatch(b: ReleaseBinary, actual: string): string {
  const o = b.origin;
  const head = `${o.url} has sha256 ${actual}, but ${b.name} ${b.version} must have ${b.sha256} (from ${o.checksumFrom}); the file was not kept: `;
  return o.pinned
    ? `${head}if the pin is wrong, correct artifacts.binaries.${b.name}.sha256; if the file is, point artifacts.releaseUrl at a mirror that serves the official release`
    : `${head}the file does not match the checksum published beside it (a broken or cut-short mirror): fix the mirror or point artifacts.releaseUrl at another, or pin artifacts.binaries.${b.name} with the version and sha256 you trust`;
}
