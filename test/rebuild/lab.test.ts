/**
 * The rebuild labs' inventories load (the etcd one as before, the Kubernetes one pinning each local
 * binary), and the readers of an apply's step lines find what the e2e files assert on.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { clusterSpec } from "../../src/cluster/spec.js";
import { loadInventory } from "../../src/inventory/load.js";
import { COMPONENT_BINARIES } from "../../src/inventory/schema.js";
import { cps, ETCD_LAB, inventoryText, outcomesOf, stepsOf, workers, type RebuildLabNet } from "./lab.js";

const dir = mkdtempSync(join(tmpdir(), "yagura-rebuild-lab-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function load(lab: RebuildLabNet, text: string) {
  const file = join(dir, `${lab.env}.yaml`);
  writeFileSync(file, text);
  const r = loadInventory(file);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return { inventory: r.inventory, spec: clusterSpec(r.env, r.inventory) };
}

describe("rebuild lab inventories", () => {
  it("the etcd lab: its own bridge and subnet, rebuild tokens, no artifacts section", () => {
    const { spec, inventory } = load(ETCD_LAB, inventoryText([...cps(3, { cp2: "r1" }), ...workers(1)]));
    expect(spec.env).toBe("rb86");
    expect(inventory.lab).toMatchObject({ bridge: "ygbr86r", cidr: "10.86.0.0/24" });
    expect(spec.nodes.map((n) => `${n.name} ${n.address} ${n.role} ${n.rebuildToken}`)).toEqual([
      "cp1 10.86.0.11 control-plane ",
      "cp2 10.86.0.12 control-plane r1",
      "cp3 10.86.0.13 control-plane ",
      "w1 10.86.0.21 worker ",
    ]);
  });

  it("the Kubernetes lab pins the version and sha256 of every local binary", () => {
    const sha256 = Object.fromEntries(COMPONENT_BINARIES.map((b, i) => [b, String(i).repeat(64)]));
    const lab: RebuildLabNet = { env: "rb90k", bridge: "ygbr90k", net: "10.90.0", kube: { version: "1.33.7", sha256 } };
    const { spec, inventory } = load(lab, inventoryText([...cps(3), ...workers(2, { w2: "a" })], 1, lab));
    expect(inventory.cluster).toMatchObject({ kubernetesVersion: "1.33.7", minReadyWorkers: 1 });
    expect(inventory.lab).toMatchObject({ bridge: "ygbr90k", cidr: "10.90.0.0/24" });
    expect(spec.nodes.map((n) => n.address)).toEqual([
      "10.90.0.11",
      "10.90.0.12",
      "10.90.0.13",
      "10.90.0.21",
      "10.90.0.22",
    ]);
    expect(inventory.artifacts.source).toBe("local");
    for (const b of COMPONENT_BINARIES)
      expect(inventory.artifacts.binaries[b]).toMatchObject({ version: "1.33.7", sha256: sha256[b] });
  });
});

describe("readers of an apply's output", () => {
  // The lines as src/rebuild/apply.ts prints them: the step, then its outcome.
  const out = [
    "rebuild: 2 node change(s)",
    "step 1-drain-w1+w2: drain w1, w2 — replaced nodes are drained first",
    "✓ step 1-drain-w1+w2: cordoned w1, w2, evicted 2 pod(s), left 1 (DaemonSet, mirror, finished)",
    "step 2-etcd-leave-cp2: etcd-leave cp2 — the member leaves before its node is rebuilt",
    "✓ step 2-etcd-leave-cp2: member cp2 removed",
    "step 3-uncordon-w1+w2: uncordon w1, w2 — back in service",
    "- step 3-uncordon-w1+w2: no Kubernetes API: uncordon skipped",
    "step 4-record-built: record-built — remember how each node is built",
    "✓ step 4-record-built: recorded how 5 node(s) are built",
    "apply completed: 4 step(s)",
  ].join("\n");

  it("stepsOf lists each step's action and nodes", () => {
    expect(stepsOf(out)).toEqual(["drain w1, w2", "etcd-leave cp2", "uncordon w1, w2", "record-built"]);
  });

  it("outcomesOf tells a done step from a skipped one, by action", () => {
    expect(outcomesOf(out, "drain")).toEqual([
      "done: cordoned w1, w2, evicted 2 pod(s), left 1 (DaemonSet, mirror, finished)",
    ]);
    expect(outcomesOf(out, "uncordon")).toEqual(["skipped: no Kubernetes API: uncordon skipped"]);
    expect(outcomesOf(out, "reimage")).toEqual([]);
  });
});
