/** The rebuild planner for stack (pool) nodes: creation, replacement through the stack, removal. */
import { describe, expect, it } from "vitest";
import { clusterSpec, type ClusterSpec } from "../../src/cluster/spec.js";
import { inventorySchema } from "../../src/inventory/schema.js";
import { planRebuild } from "../../src/rebuild/plan.js";
import type { ExistingNode } from "../../src/rebuild/types.js";
import { actions, member, observed } from "./fixtures.js";

describe("planRebuild: stack nodes", () => {
  const pools = (count: number, image = "img-1", tokens: Record<string, string> = {}) =>
    clusterSpec(
      "os",
      inventorySchema.parse({
        cluster: { name: "os", kubernetesVersion: "1.33.5" },
        nodePools: [
          { name: "cp", role: "control-plane", count: 3, flavor: "f", image: "img-1", firstAddress: "192.168.1.10" },
          {
            name: "gen",
            role: "worker",
            count,
            flavor: "f",
            image,
            firstAddress: "192.168.1.20",
            rebuildTokens: tokens,
          },
        ],
      }),
    );
  const stackNode = (spec: ClusterSpec, name: string, image = "img-1"): ExistingNode => {
    const n = spec.nodes.find((x) => x.name === name)!;
    return {
      name,
      address: n.address,
      role: n.role,
      managed: true,
      lab: false,
      inStack: true,
      built: { rebuildToken: "", image, flavor: "f" },
    };
  };
  const cpMembers = (spec: ClusterSpec) =>
    spec.nodes
      .filter((n) => n.role === "control-plane")
      .map((n) => ({ ...member("cp1"), id: `id-${n.name}`, name: n.name, peerURLs: [`https://${n.address}:2380`] }));

  it("a new pool node is created by the stack before reconcile bootstraps it", () => {
    const spec = pools(3);
    const existing = ["cp-1", "cp-2", "cp-3", "gen-1", "gen-2"].map((n) => stackNode(spec, n));
    const p = planRebuild({ spec, existing, status: observed(spec, cpMembers(spec)) });
    expect(actions(p)).toEqual(["stack-deploy gen-3", "reconcile gen-3", "record-built"]);
  });

  it("an image change replaces the servers through the stack, in batches", () => {
    const spec = pools(2, "img-2");
    const existing = ["cp-1", "cp-2", "cp-3", "gen-1", "gen-2"].map((n) => stackNode(spec, n));
    const p = planRebuild({ spec, existing, status: observed(spec, cpMembers(spec)) });
    expect(p.changes.map((c) => `${c.kind} ${c.node}: ${c.reasons.join()}`)).toEqual([
      "replace gen-1: image img-1 → img-2",
      "replace gen-2: image img-1 → img-2",
    ]);
    expect(actions(p)).toEqual([
      "drain gen-1+gen-2",
      "stack-replace gen-1+gen-2",
      "reconcile gen-1+gen-2",
      "uncordon gen-1+gen-2",
      "record-built",
    ]);
  });

  it("a removed pool node is drained, then the stack is deployed without it", () => {
    const spec = pools(1);
    const existing = ["cp-1", "cp-2", "cp-3", "gen-1", "gen-2"].map((n) => stackNode(pools(2), n));
    const p = planRebuild({ spec, existing, status: observed(spec, cpMembers(spec)) });
    expect(actions(p)).toEqual(["drain gen-2", "stack-deploy gen-2", "reconcile", "record-built"]);
  });
});
