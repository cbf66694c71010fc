/**
 * Reads an add-on bundle from its source (a file relative to the inventory, or an http(s) URL),
 * checks its sha256 before anything parses it, and splits the multi-document YAML into objects.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { parseAllDocuments } from "yaml";
import type { KubeObject } from "../infra/kube-types.js";
import type { AddonBundle, AddonName } from "../inventory/schema.js";

/** A bundle that cannot be used: unreadable, wrong checksum, or not a list of Kubernetes objects. */
export class AddonSourceError extends Error {
  override readonly name = "AddonSourceError";
}

/** One bundle, read and verified. */
export interface LoadedBundle {
  readonly name: AddonName;
  readonly version: string;
  readonly objects: readonly KubeObject[];
}

const isUrl = (s: string) => /^https?:\/\//i.test(s);

/** Where a source points: an absolute path for a file, the URL itself otherwise. */
export function sourceLocation(source: string, inventoryDir: string): string {
  return isUrl(source) ? source : resolve(inventoryDir, source);
}

/** The bytes of a source; a URL is fetched with a timeout and must answer 200. */
async function readSource(where: string, timeoutMs: number): Promise<Buffer> {
  if (!isUrl(where)) return readFile(where);
  const res = await fetch(where, { signal: AbortSignal.timeout(timeoutMs), redirect: "error" });
  if (res.status !== 200) throw new Error(`HTTP ${res.status} ${res.statusText}`);
  return Buffer.from(await res.arrayBuffer());
}

/** Parses multi-document YAML into objects; empty documents (a trailing `---`) are skipped. */
export function parseManifests(text: string, where: string): KubeObject[] {
  const out: KubeObject[] = [];
  parseAllDocuments(text).forEach((doc, i) => {
    if ("errors" in doc && doc.errors.length > 0) {
      throw new AddonSourceError(`${where}: document ${i + 1} is not valid YAML: ${doc.errors[0]!.message}`);
    }
    const v = doc.toJS() as unknown;
    if (v === null || v === undefined) return;
    const o = v as Partial<KubeObject>;
    if (typeof o !== "object" || typeof o.apiVersion !== "string" || typeof o.kind !== "string") {
      throw new AddonSourceError(`${where}: document ${i + 1} is not a Kubernetes object (no apiVersion or kind)`);
    }
    if (o.kind.endsWith("List")) {
      throw new AddonSourceError(`${where}: document ${i + 1} is a ${o.kind}; yagura reads one object per document`);
    }
    if (typeof o.metadata?.name !== "string" || o.metadata.name === "") {
      throw new AddonSourceError(`${where}: document ${i + 1} (${o.kind}) has no metadata.name`);
    }
    out.push(o as KubeObject);
  });
  return out;
}

/** Reads, verifies and parses one bundle. Throws AddonSourceError saying what to change. */
export async function loadBundle(
  name: AddonName,
  bundle: AddonBundle,
  inventoryDir: string,
  o: { readonly timeoutMs?: number } = {},
): Promise<LoadedBundle> {
  const where = sourceLocation(bundle.source, inventoryDir);
  const setting = `addons.bundles.${name}`;
  let bytes: Buffer;
  try {
    bytes = await readSource(where, o.timeoutMs ?? 30_000);
  } catch (err) {
    throw new AddonSourceError(
      `cannot read add-on ${name} ${bundle.version} from ${where}: ${(err as Error).message}; fix ${setting}.source`,
    );
  }
  const actual = createHash("sha256").update(bytes).digest("hex");
  if (actual !== bundle.sha256) {
    throw new AddonSourceError(
      `add-on ${name} ${bundle.version} from ${where} has sha256 ${actual}, but the inventory expects ${bundle.sha256}: ` +
        `if the file is the release you meant, set ${setting}.sha256 to ${actual}; otherwise fix ${setting}.source`,
    );
  }
  return { name, version: bundle.version, objects: parseManifests(bytes.toString("utf8"), where) };
}
