/**
 * Prepares the add-ons' desired state before a pass: reads and verifies every enabled bundle,
 * finds the cloud.conf credential, and renders. The material step of a pass calls this in scope
 * all; `yagura render` calls it with a redacted credential.
 */
import { dirname } from "node:path";
import type { ClusterSpec } from "../cluster/spec.js";
import { ADDON_BUNDLES } from "../inventory/schema.js";
import { cloudCredential } from "./credentials.js";
import { buildAddonsDesired, type AddonsDesired } from "./desired.js";
import type { CloudCredential } from "./render/cloud.js";
import { loadBundle, type LoadedBundle } from "./sources.js";

/** Options of prepareAddons. */
export interface PrepareAddonsOptions {
  /** The inventory file: bundle sources and the credential file are relative to it. */
  readonly inventoryFile: string;
  /** The stack outputs file (`--stack-outputs`); the local Terraform state when absent. */
  readonly outputsFile?: string;
  /** Use this credential instead of looking one up (`yagura render` passes a redacted one). */
  readonly credential?: CloudCredential;
}

/** Reads every enabled bundle, in the inventory's bundle order. */
export async function loadBundles(spec: ClusterSpec, inventoryFile: string): Promise<LoadedBundle[]> {
  const dir = dirname(inventoryFile);
  const enabled = ADDON_BUNDLES.flatMap((name) => {
    const b = spec.inventory.addons.bundles[name];
    return b ? [{ name, b }] : [];
  });
  return Promise.all(enabled.map(({ name, b }) => loadBundle(name, b, dir)));
}

/** The add-ons' desired state, or undefined when the inventory enables none. */
export async function prepareAddons(spec: ClusterSpec, o: PrepareAddonsOptions): Promise<AddonsDesired | undefined> {
  const bundles = await loadBundles(spec, o.inventoryFile);
  if (bundles.length === 0) return undefined;
  const credential = o.credential ?? cloudCredential(spec, o);
  return buildAddonsDesired(spec, { bundles, ...(credential ? { credential } : {}) });
}
