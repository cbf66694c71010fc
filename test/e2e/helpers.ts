/** Shared pieces of the etcd end-to-end tests: the lab of one file and its inventory; the runner-free parts live in test/support/lab-cli.ts. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { clusterSpec } from "../../src/cluster/spec.js";
import { loadInventory } from "../../src/inventory/load.js";
import { labDown, labUp } from "../../src/lab/index.js";

export {
  cli,
  e2eSkipReason,
  etcdctl,
  onNode,
  opsOf,
  until,
  type CliOptions,
  type CliRun,
  type LineVerdict,
} from "../support/lab-cli.js";

/** A lab of control-plane nodes on its own bridge and subnet, as one e2e file needs it. */
export interface LabInventory {
  readonly env: string;
  readonly bridge: string;
  /** The lab subnet, e.g. 10.79.0.0/24. */
  readonly cidr: string;
  readonly nodes: readonly [string, string][];
  /** Further top-level inventory lines (e.g. a reconciler section). */
  readonly extra?: readonly string[];
}

/** Inventory text for a lab of control-plane static nodes. */
export function labInventoryText(l: LabInventory): string {
  return [
    `cluster: { name: ${l.env}, kubernetesVersion: '1.33.5' }`,
    `lab: { bridge: ${l.bridge}, cidr: ${l.cidr} }`,
    "staticNodes:",
    ...l.nodes.map(([n, a]) => `  - { name: ${n}, address: ${a}, role: control-plane }`),
    "networking: { calico: { routeReflectors: { enabled: false } } }",
    // These labs run no Kubernetes binary: with the default source (release), a status or a scope-all
    // pass would fetch the release's checksums from the internet. A file's own artifacts section wins.
    ...(l.extra?.some((x) => x.startsWith("artifacts:")) ? [] : ["artifacts: { source: image }"]),
    ...(l.extra ?? []),
    "",
  ].join("\n");
}

/**
 * The lab of one e2e file: a temp dir with the state dir and the inventory file, the lab brought up
 * before the file's tests and torn down (after `beforeDown`) once they end. Call inside the
 * describe block, so a skipped suite creates nothing.
 */
export function useLab(o: {
  inventory: LabInventory;
  tmpPrefix: string;
  skip: string | undefined;
  beforeDown?: () => void;
}) {
  const env = o.inventory.env;
  const root = o.skip ? "" : mkdtempSync(join(tmpdir(), `yagura-${o.tmpPrefix}-e2e-`));
  const state = join(root, "state");
  const file = join(root, `${env}.yaml`);
  /** Rewrites the inventory with other nodes (growing or shrinking the control plane). */
  const writeNodes = (nodes: readonly [string, string][]) =>
    writeFileSync(file, labInventoryText({ ...o.inventory, nodes }));
  const spec = () => {
    const r = loadInventory(file);
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    return clusterSpec(r.env, r.inventory);
  };
  beforeAll(async () => {
    writeNodes(o.inventory.nodes);
    await labUp(spec(), { stateRoot: state });
  }, 120_000);
  afterAll(async () => {
    if (o.skip) return;
    o.beforeDown?.();
    await labDown(env, { stateRoot: state }).catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
  }, 120_000);
  return { root, state, file, spec, writeNodes };
}
