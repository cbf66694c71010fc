/** The add-on lab e2e's inventory and stand-in bundle, checked here where no Kubernetes binaries exist. */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { planApply } from "../../src/addons/apply.js";
import { addonsObservePlan } from "../../src/addons/desired.js";
import { prepareAddons } from "../../src/addons/prepare.js";
import { clusterSpec } from "../../src/cluster/spec.js";
import { formatProblem } from "../../src/inventory/problem.js";
import { loadInventory } from "../../src/inventory/load.js";
import { observeKube } from "../../src/observe/kube.js";
import { addonsApplyOp } from "../../src/ops/addons/apply.js";
import {
  addonInventoryLines,
  addonsLabInventoryText,
  readyListenerCommand,
  standInCniBundle,
} from "../e2e/addons-lab.js";
import { fakeKube } from "../support/fake-kube.js";
import { kubeCtx, runOp } from "./support.js";

describe("the add-on lab e2e's inputs", () => {
  it("validate, render with the CNI gate on calico-node, and apply in full on an in-memory API", async () => {
    const dir = mkdtempSync(join(tmpdir(), "yagura-addons-lab-"));
    const bundle = standInCniBundle();
    writeFileSync(join(dir, "cni.yaml"), bundle);
    const text =
      addonsLabInventoryText({
        env: "e84a",
        bridge: "ygbr84a",
        cidr: "10.84.0.0/24",
        version: "1.24.0-alpha.1-lab",
        releaseUrl: "http://127.0.0.1:8080",
        nodes: [
          { name: "cp1", address: "10.84.0.11", role: "control-plane" },
          { name: "w1", address: "10.84.0.21", role: "worker" },
        ],
      }) + `${addonInventoryLines(bundle, "cni.yaml").join("\n")}\n`;
    const file = join(dir, "e84a.yaml");
    writeFileSync(file, text);
    const res = loadInventory(file);
    expect(res.ok, res.ok ? "" : res.problems.map(formatProblem).join("\n")).toBe(true);
    if (!res.ok) return;
    expect(res.inventory.artifacts).toMatchObject({
      source: "release",
      releaseUrl: "http://127.0.0.1:8080",
      binaries: {},
    });
    const spec = clusterSpec(res.env, res.inventory);
    const a = (await prepareAddons(spec, { inventoryFile: file }))!;
    expect(a.cni).toEqual({ namespace: "calico-system", name: "calico-node" });
    expect(a.objects.map((o) => o.kind)).toEqual(
      expect.arrayContaining([
        "CustomResourceDefinition",
        "DaemonSet",
        "Deployment",
        "Installation",
        "BGPConfiguration",
      ]),
    );

    const kube = fakeKube();
    kube.addNode("cp1");
    kube.addNode("w1");
    const establish = () => {
      for (const o of kube.objects.values())
        if (o.kind === "CustomResourceDefinition")
          kube.put({ ...o, status: { conditions: [{ type: "Established", status: "True" }] } });
    };
    const status = await observeKube(kube, addonsObservePlan(a));
    const plan = planApply(a, status, spec.nodes.length);
    expect(plan.heldBack).toEqual([]);
    await runOp(addonsApplyOp(plan, a)!, kubeCtx(kube, establish));
    const again = planApply(a, await observeKube(kube, addonsObservePlan(a)), spec.nodes.length);
    expect(again.apply).toEqual([]);
    expect(again.recordOutdated).toBe(false);
  });

  it("holds the readiness port with a command sh accepts", () => {
    const r = spawnSync("sh", ["-n", "-c", readyListenerCommand()], { encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
  });
});
