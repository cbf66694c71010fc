/**
 * The parts of the Kubernetes lab e2e test that need no Kubernetes binaries: the inventory it
 * writes validates and says what the test asserts later, checksums are those of the files, the
 * version is read from a binary's output, and the admin kubeconfig reads back into the endpoint.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { clusterSpec } from "../../src/cluster/spec.js";
import { parseInventory } from "../../src/inventory/load.js";
import { planArtifacts } from "../../src/k8s/artifacts.js";
import { renderAdminKubeconfig } from "../../src/k8s/render/kubeconfig.js";
import {
  binaryChecksums,
  binaryVersion,
  endpointFromKubeconfig,
  k8sLabInventoryText,
  missingBinaries,
  parseVersionOutput,
  sha256File,
} from "./k8s-lab.js";
import { bridgeCniConfig } from "./addons-lab.js";

const dir = mkdtempSync(join(tmpdir(), "yagura-k8s-lab-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const NAMES = ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy"];

describe("the k8s lab e2e inventory", () => {
  it("checksums are the files' own, and a missing binary is named", () => {
    writeFileSync(join(dir, "kube-apiserver"), "abc");
    // sha256("abc"), as sha256sum prints it.
    expect(sha256File(join(dir, "kube-apiserver"))).toBe(
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
    expect(missingBinaries(dir)).toBe(`${dir} lacks kube-controller-manager, kube-scheduler, kubelet, kube-proxy`);
  });

  it("reads the version a binary prints", () => {
    expect(parseVersionOutput("Kubernetes v1.33.5\n")).toBe("1.33.5");
    // A pre-release and build metadata are part of what the inventory must name.
    expect(parseVersionOutput("Kubernetes v1.24.0-alpha.1-lab\n")).toBe("1.24.0-alpha.1-lab");
    expect(parseVersionOutput("Kubernetes v1.24.17-eks-1\n")).toBe("1.24.17-eks-1");
    expect(parseVersionOutput("Kubernetes v1.31.0-alpha.3.123+5f2c4e1-dirty")).toBe("1.31.0-alpha.3.123+5f2c4e1-dirty");
    expect(() => parseVersionOutput("command not found")).toThrow(/cannot read a Kubernetes version/);
    expect(() => parseVersionOutput("Kubernetes v1.33")).toThrow(/cannot read a Kubernetes version/);
    // A stand-in executable that answers --version like kube-apiserver does.
    writeFileSync(join(dir, "kube-apiserver"), '#!/bin/sh\n[ "$1" = --version ] && echo "Kubernetes v1.31.4"\n');
    chmodSync(join(dir, "kube-apiserver"), 0o755);
    expect(binaryVersion(dir)).toBe("1.31.4");
  });

  it("writes an inventory that validates, pins every binary to its checksum and carries the nodes' labels and taints", () => {
    for (const n of NAMES.slice(1)) writeFileSync(join(dir, n), `binary ${n}`);
    expect(missingBinaries(dir)).toBeUndefined();
    const sha256 = binaryChecksums(dir);
    const text = k8sLabInventoryText({
      env: "e83k",
      bridge: "ygbr83k",
      cidr: "10.83.0.0/24",
      version: "1.33.5",
      sha256,
      nodes: [
        { name: "cp1", address: "10.83.0.11", role: "control-plane" },
        { name: "cp2", address: "10.83.0.12", role: "control-plane" },
        { name: "cp3", address: "10.83.0.13", role: "control-plane" },
        { name: "w1", address: "10.83.0.21", role: "worker", labels: { "node.yagura.io/pool": "general" } },
        {
          name: "w2",
          address: "10.83.0.22",
          role: "worker",
          labels: { "node.yagura.io/pool": "batch" },
          taints: [{ key: "dedicated", value: "batch", effect: "NoSchedule" }],
        },
      ],
    });
    const r = parseInventory(text, "/x/e83k.yaml");
    if (!r.ok) throw new Error(JSON.stringify(r.problems, null, 2));
    const spec = clusterSpec(r.env, r.inventory);
    expect(spec.nodes.map((n) => [n.name, n.role, n.address])).toEqual([
      ["cp1", "control-plane", "10.83.0.11"],
      ["cp2", "control-plane", "10.83.0.12"],
      ["cp3", "control-plane", "10.83.0.13"],
      ["w1", "worker", "10.83.0.21"],
      ["w2", "worker", "10.83.0.22"],
    ]);
    expect(spec.nodes[4]!.labels).toEqual({ "node.yagura.io/pool": "batch" });
    expect(spec.nodes[4]!.taints).toEqual([{ key: "dedicated", value: "batch", effect: "NoSchedule" }]);
    expect(r.inventory.lab).toMatchObject({ bridge: "ygbr83k", cidr: "10.83.0.0/24" });
    const plan = planArtifacts(r.inventory.artifacts, { YAGURA_KUBE_BIN_DIR: dir });
    if (!plan.ok) throw new Error(plan.problems.join("; "));
    expect(Object.fromEntries(plan.plans.map((p) => [p.name, p.sha256]))).toEqual(sha256);
    expect(plan.plans.every((p) => p.origin.kind === "local" && p.origin.path.startsWith(dir))).toBe(true);
  });

  it("writes an inventory that validates with the pre-release a locally built binary reports", () => {
    const text = k8sLabInventoryText({
      env: "e83k",
      bridge: "ygbr83k",
      cidr: "10.83.0.0/24",
      version: parseVersionOutput("Kubernetes v1.24.0-alpha.1-lab\n"),
      sha256: Object.fromEntries(NAMES.map((n) => [n, "0".repeat(64)])),
      nodes: [
        { name: "cp1", address: "10.83.0.11", role: "control-plane" },
        { name: "w1", address: "10.83.0.21", role: "worker" },
      ],
    });
    const r = parseInventory(text, "/x/e83k.yaml");
    if (!r.ok) throw new Error(JSON.stringify(r.problems, null, 2));
    expect(r.inventory.cluster.kubernetesVersion).toBe("1.24.0-alpha.1-lab");
  });

  it("the add-ons test gives each node its own pod subnet in its CNI config", () => {
    const a = JSON.parse(bridgeCniConfig(0));
    const b = JSON.parse(bridgeCniConfig(4));
    expect(a.plugins[0].ipam.ranges[0][0].subnet).toBe("10.244.1.0/24");
    expect(b.plugins[0].ipam.ranges[0][0].subnet).toBe("10.244.5.0/24");
  });

  it("reads the admin kubeconfig back into the endpoint it embeds", () => {
    const input = {
      clusterName: "e83k",
      server: "https://10.83.0.11:6443",
      caPem: "CA\n",
      certPem: "CERT\n",
      keyPem: "KEY\n",
    };
    expect(endpointFromKubeconfig(renderAdminKubeconfig(input))).toEqual({
      server: input.server,
      caPem: input.caPem,
      certPem: input.certPem,
      keyPem: input.keyPem,
    });
  });
});
