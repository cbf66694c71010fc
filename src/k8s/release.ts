/**
 * The official Kubernetes release layout (`artifacts.source: release`): where a binary of a release
 * and the sha256 published beside it live under a base URL (https://dl.k8s.io or a mirror of it),
 * and where yagura keeps its local copy. Pure: the downloads are in release-download.ts.
 */
import { join } from "node:path";

/** One binary of a release: its URL, the URL of its published checksum, and its place in the cache. */
export interface ReleaseFile {
  readonly url: string;
  readonly checksumUrl: string;
  readonly cachePath: string;
}

/** "v1.33.5" and "1.33.5" both name release v1.33.5. */
export const releaseTag = (version: string): string => `v${version.replace(/^v/, "")}`;

/**
 * `<base>/release/v<version>/bin/linux/<arch>/<name>`, its `.sha256`, and the cache path
 * `<cacheDir>/<host>/<base path>/release/…`: one entry per base URL, so two mirrors never share a file.
 */
export function releaseFile(base: string, version: string, arch: string, name: string, cacheDir: string): ReleaseFile {
  const path = `release/${releaseTag(version)}/bin/linux/${arch}/${name}`;
  const url = `${base.replace(/\/+$/, "")}/${path}`;
  const u = new URL(url);
  // The URL parser has already resolved . and .. segments; what is left names directories only.
  const segments = u.pathname.split("/").filter((s) => s !== "" && s !== "." && s !== "..");
  const host = u.host.replace(/[^A-Za-z0-9.-]/g, "_");
  return { url, checksumUrl: `${url}.sha256`, cachePath: join(cacheDir, host, ...segments) };
}

/**
 * The checksum in a published `.sha256` file: the whole file is the hex digest (dl.k8s.io), or
 * `sha256sum` output whose first field it is. Undefined when the text holds no digest.
 */
export function parsePublishedChecksum(text: string): string | undefined {
  const first = text.trim().split(/\s+/)[0] ?? "";
  return /^[0-9a-fA-F]{64}$/.test(first) ? first.toLowerCase() : undefined;
}
