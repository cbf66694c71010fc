/**
 * The rebuild e2e lab: control-plane and worker lab nodes with rebuild tokens on bridge ygbr86r
 * (10.86.0.0/24), an inventory the tests rewrite, and an etcd writer that records every
 * acknowledged put so none can go missing unnoticed.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { envPaths } from "../../src/cluster/paths.js";
import { clusterSpec } from "../../src/cluster/spec.js";
import { createEtcdAdmin } from "../../src/infra/etcd.js";
import { loadInventory } from "../../src/inventory/load.js";
import { labDown, labUp } from "../../src/lab/index.js";

/** One lab node of the inventory. */
export interface RebuildNode {
  readonly name: string;
  readonly role: "control-plane" | "worker";
  readonly token?: string;
}

export const ENV = "rb86";
const NET = "10.86.0";

/** The node's fixed address: cpN → .1N, wN → .2N. */
export const addressOf = (name: string) =>
  `${NET}.${name.startsWith("cp") ? 10 + Number(name.slice(2)) : 20 + Number(name.slice(1))}`;

/** cp1…cpN control-plane nodes. */
export const cps = (n: number, tokens: Record<string, string> = {}): RebuildNode[] =>
  Array.from({ length: n }, (_, i) => ({ name: `cp${i + 1}`, role: "control-plane", token: tokens[`cp${i + 1}`] }));
/** w1…wN workers. */
export const workers = (n: number, tokens: Record<string, string> = {}): RebuildNode[] =>
  Array.from({ length: n }, (_, i) => ({ name: `w${i + 1}`, role: "worker", token: tokens[`w${i + 1}`] }));

/** The inventory text of these nodes. */
export function inventoryText(nodes: readonly RebuildNode[], minReadyWorkers = 0): string {
  return [
    `cluster: { name: ${ENV}, kubernetesVersion: '1.33.5', minReadyWorkers: ${minReadyWorkers} }`,
    `lab: { bridge: ygbr86r, cidr: ${NET}.0/24 }`,
    "staticNodes:",
    ...nodes.map(
      (n) =>
        `  - { name: ${n.name}, address: ${addressOf(n.name)}, role: ${n.role}${n.token ? `, rebuildToken: '${n.token}'` : ""} }`,
    ),
    "networking: { calico: { routeReflectors: { enabled: false } } }",
    "reconciler: { maxConcurrentUpdates: 2 }",
    "",
  ].join("\n");
}

/** The lab of the rebuild e2e file: up before its tests, down (and its temp dir gone) after. */
export function useRebuildLab(initial: readonly RebuildNode[], skip: string | undefined) {
  const root = skip ? "" : mkdtempSync(join(tmpdir(), "yagura-rebuild-e2e-"));
  const state = join(root, "state");
  const file = join(root, `${ENV}.yaml`);
  const spec = () => {
    const r = loadInventory(file);
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    return clusterSpec(r.env, r.inventory);
  };
  /** Rewrites the inventory; `up` also brings the lab to it (adding nodes, never pruning). */
  const write = async (nodes: readonly RebuildNode[], o: { up?: boolean; prune?: boolean; minReady?: number } = {}) => {
    writeFileSync(file, inventoryText(nodes, o.minReady));
    if (o.up) await labUp(spec(), { stateRoot: state, prune: o.prune ?? false, pauseImage: false });
  };
  beforeAll(async () => {
    await write(initial, { up: true });
  }, 120_000);
  afterAll(async () => {
    if (skip) return;
    await labDown(ENV, { stateRoot: state }).catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
  }, 120_000);
  return { root, state, file, spec, write };
}

/** Puts a counter through the etcd3 client against `endpoints` until stopped; then reads every acknowledged key back. */
export function etcdWriter(state: string, endpoints: readonly string[]) {
  const pki = envPaths(ENV, state).pkiDir;
  const tls = {
    ca: readFileSync(join(pki, "etcd-client-ca.crt"), "utf8"),
    cert: readFileSync(join(pki, "etcd-admin.crt"), "utf8"),
    key: readFileSync(join(pki, "etcd-admin.key"), "utf8"),
  };
  const admin = createEtcdAdmin([...endpoints], tls, { callTimeoutMs: 3000 });
  const prefix = `rebuild/${Date.now()}/`;
  const acked: string[] = [];
  let failed = 0;
  let writing = true;
  const loop = (async () => {
    for (let i = 0; writing; i++) {
      const k = `${prefix}${String(i).padStart(6, "0")}`;
      await admin.put(k, String(i)).then(
        () => acked.push(k),
        () => failed++,
      );
      await new Promise((r) => setTimeout(r, 40));
    }
  })();
  return {
    /** Stops writing and reads back every acknowledged key through `readFrom` (the members now). */
    async stop(readFrom: readonly string[]): Promise<{ acked: number; failed: number; missing: string[] }> {
      writing = false;
      await loop;
      await admin.close();
      const reader = createEtcdAdmin([...readFrom], tls, { callTimeoutMs: 5000 });
      const missing: string[] = [];
      try {
        for (const k of acked) if ((await reader.get(k)) === undefined) missing.push(k);
      } finally {
        await reader.close();
      }
      return { acked: acked.length, failed, missing };
    },
  };
}
