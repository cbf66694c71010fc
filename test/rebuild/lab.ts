/**
 * The rebuild e2e labs: control-plane and worker lab nodes with rebuild tokens on a bridge of
 * their own (ygbr86r, 10.86.0.0/24 for the etcd file; another for the Kubernetes file), an
 * inventory the tests rewrite, an etcd writer that records every acknowledged put so none can go
 * missing unnoticed, and the readers of an apply's output both files check.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { clusterSpec } from "../../src/cluster/spec.js";
import { loadInventory } from "../../src/inventory/load.js";
import { COMPONENT_BINARIES } from "../../src/inventory/schema.js";
import { labDown, labUp } from "../../src/lab/index.js";
import { etcdctl } from "../e2e/helpers.js";
import { etcdWriter as startEtcdWriter } from "../support/etcd-writer.js";

/** One lab node of the inventory. */
export interface RebuildNode {
  readonly name: string;
  readonly role: "control-plane" | "worker";
  readonly token?: string;
}

/** Where a rebuild lab lives, and for a Kubernetes one the binaries its inventory pins. */
export interface RebuildLabNet {
  readonly env: string;
  readonly bridge: string;
  /** The first three octets of its /24. */
  readonly net: string;
  /** Version and sha256 of each local component binary (scope all); absent for etcd-only labs. */
  readonly kube?: { readonly version: string; readonly sha256: Readonly<Record<string, string>> };
}

/** The etcd rebuild e2e file's lab. */
export const ETCD_LAB: RebuildLabNet = { env: "rb86", bridge: "ygbr86r", net: "10.86.0" };
export const ENV = ETCD_LAB.env;

/** The node's fixed address: cpN → .1N, wN → .2N. */
export const addressOf = (name: string, lab: RebuildLabNet = ETCD_LAB) =>
  `${lab.net}.${name.startsWith("cp") ? 10 + Number(name.slice(2)) : 20 + Number(name.slice(1))}`;
/** The node's etcd client URL. */
export const etcdURL = (name: string, lab: RebuildLabNet = ETCD_LAB) => `https://${addressOf(name, lab)}:2379`;

/** cp1…cpN control-plane nodes. */
export const cps = (n: number, tokens: Record<string, string> = {}): RebuildNode[] =>
  Array.from({ length: n }, (_, i) => ({ name: `cp${i + 1}`, role: "control-plane", token: tokens[`cp${i + 1}`] }));
/** w1…wN workers. */
export const workers = (n: number, tokens: Record<string, string> = {}): RebuildNode[] =>
  Array.from({ length: n }, (_, i) => ({ name: `w${i + 1}`, role: "worker", token: tokens[`w${i + 1}`] }));

/** The inventory text of these nodes. */
export function inventoryText(
  nodes: readonly RebuildNode[],
  minReadyWorkers = 0,
  lab: RebuildLabNet = ETCD_LAB,
): string {
  const version = lab.kube?.version ?? "1.33.5";
  return [
    `cluster: { name: ${lab.env}, kubernetesVersion: '${version}', minReadyWorkers: ${minReadyWorkers} }`,
    `lab: { bridge: ${lab.bridge}, cidr: ${lab.net}.0/24 }`,
    "staticNodes:",
    ...nodes.map(
      (n) =>
        `  - { name: ${n.name}, address: ${addressOf(n.name, lab)}, role: ${n.role}${n.token ? `, rebuildToken: '${n.token}'` : ""} }`,
    ),
    // A Kubernetes lab runs the bridge pod network, which needs no image.
    lab.kube ? "networking: { cni: bridge }" : "networking: { calico: { routeReflectors: { enabled: false } } }",
    "reconciler: { maxConcurrentUpdates: 2 }",
    ...(lab.kube
      ? [
          "artifacts:",
          "  source: local",
          "  binaries:",
          ...COMPONENT_BINARIES.map(
            (b) => `    ${b}: { version: '${version}', sha256: '${lab.kube!.sha256[b] ?? ""}' }`,
          ),
        ]
      : []),
    "",
  ].join("\n");
}

/**
 * The lab of a rebuild e2e file: up before its tests, down (and its temp dir gone) after.
 * `afterUp` runs after every `labUp`.
 */
export function useRebuildLab(
  initial: readonly RebuildNode[],
  skip: string | undefined,
  lab: RebuildLabNet = ETCD_LAB,
  afterUp?: (state: string, nodes: readonly RebuildNode[]) => Promise<void>,
) {
  const root = skip ? "" : mkdtempSync(join(tmpdir(), "yagura-rebuild-e2e-"));
  const state = join(root, "state");
  const file = join(root, `${lab.env}.yaml`);
  const spec = () => {
    const r = loadInventory(file);
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    return clusterSpec(r.env, r.inventory);
  };
  /** Rewrites the inventory; `up` also brings the lab to it (adding nodes, never pruning). */
  const write = async (nodes: readonly RebuildNode[], o: { up?: boolean; prune?: boolean; minReady?: number } = {}) => {
    writeFileSync(file, inventoryText(nodes, o.minReady, lab));
    if (!o.up) return;
    // Only a Kubernetes lab runs pods, so only it needs the pause image.
    await labUp(spec(), { stateRoot: state, prune: o.prune ?? false, pauseImage: lab.kube !== undefined });
    await afterUp?.(state, nodes);
  };
  beforeAll(async () => {
    await write(initial, { up: true });
  }, 300_000); // a Kubernetes lab also builds the pause image
  afterAll(async () => {
    if (skip) return;
    await labDown(lab.env, { stateRoot: state }).catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
  }, 120_000);
  return { root, state, file, spec, write };
}

/** Puts a counter through the etcd3 client against `endpoints` until stopped; then reads every acknowledged key back. */
export const etcdWriter = (state: string, endpoints: readonly string[], env = ENV) =>
  startEtcdWriter(state, endpoints, env, "rebuild");

/** `name started` (and ` learner`) per etcd member, sorted, as the member on `via` lists them. */
export function etcdMembers(state: string, via: string, lab: RebuildLabNet = ETCD_LAB): string[] {
  const r = etcdctl(state, lab.env, [etcdURL(via, lab)], ["member", "list"]);
  if (r.code !== 0) throw new Error(`etcdctl member list via ${via} failed (exit ${r.code}): ${r.out}`);
  return r.out
    .trim()
    .split("\n")
    .map((l) => l.split(", "))
    .map((f) => `${f[2]} ${f[1]}${f[5] === "true" ? " learner" : ""}`)
    .sort();
}

/** Step lines "step <id>: …" an apply printed, as "<action> <nodes>". */
export const stepsOf = (out: string) =>
  [...out.matchAll(/^step \d+-([a-z-]+)(?:-\S+)?: [a-z-]+ ?([^—]*) —/gm)].map((m) => `${m[1]} ${m[2]!.trim()}`.trim());

/** The outcome line "✓ step <id>: …" (done) or "- step <id>: …" (skipped) of each step whose id starts `<n>-<action>`. */
export const outcomesOf = (out: string, action: string) =>
  [...out.matchAll(new RegExp(`^([✓-]) step \\d+-${action}(?:-\\S+)?: (.*)$`, "gm"))].map(
    (m) => `${m[1] === "✓" ? "done" : "skipped"}: ${m[2]}`,
  );
