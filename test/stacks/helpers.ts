/** Builds and synthesizes ClusterStacks in-process for the stack tests. */
import { Testing } from "cdktf";
import { expandNodes } from "../../src/cluster/spec.js";
import { loadInventory } from "../../src/inventory/load.js";
import { generateHostKey } from "../../src/pki/host-keys.js";
import type { Inventory } from "../../src/inventory/schema.js";
import { ClusterStack } from "../../stacks/cluster-stack.js";

/** A synthesized stack as Terraform JSON. */
export type TfJson = {
  resource: Record<string, Record<string, Record<string, unknown>>>;
  data: Record<string, Record<string, Record<string, unknown>>>;
  output: Record<string, { value: unknown; sensitive?: boolean }>;
  provider: { openstack: Record<string, unknown>[] };
  variable?: Record<string, Record<string, unknown>>;
};

/** The example inventory, validated; a fresh copy each call so tests may edit it. */
export function exampleInventory(): Inventory {
  const res = loadInventory("example");
  if (!res.ok) throw new Error(`example inventory is invalid: ${JSON.stringify(res.problems)}`);
  return structuredClone(res.inventory);
}

const keys = new Map<string, string>();
/** Issued public host keys for every managed node of `inventory`, in memory (one per node name per run). */
export function testHostKeys(inventory: Inventory): Map<string, string> {
  const out = new Map<string, string>();
  for (const n of expandNodes(inventory).filter((x) => x.managed)) {
    if (!keys.has(n.name)) keys.set(n.name, generateHostKey(n.name).publicKey);
    out.set(n.name, keys.get(n.name)!);
  }
  return out;
}

/** Synthesizes one environment's stack. */
export function synth(inventory: Inventory, env = "example"): TfJson {
  const app = Testing.app();
  const stack = new ClusterStack(app, env, { env, inventory, hostKeys: testHostKeys(inventory) });
  // toTerraform keeps cdktf's construct-path metadata, which the tests use to find resources.
  return JSON.parse(JSON.stringify(stack.toTerraform())) as TfJson;
}

/** The resources of one type, keyed by logical id (empty when none). */
export function resources(tf: TfJson, type: string): Record<string, Record<string, unknown>> {
  return tf.resource[type] ?? {};
}

/** The construct path cdktf recorded for a resource, e.g. `example/compute/cp-1`. */
export function pathOf(body: Record<string, unknown>): string {
  return (body["//"] as { metadata: { path: string } }).metadata.path;
}

/** Resources of a type keyed by the last segment of their construct path (node name, rule id…). */
export function byName(tf: TfJson, type: string): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const body of Object.values(resources(tf, type))) out[pathOf(body).split("/").pop()!] = body;
  return out;
}
