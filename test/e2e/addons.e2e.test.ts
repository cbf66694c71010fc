/**
 * Issue #7 end to end in a real lab (own bridge ygbr84a, 10.84.0.0/24; 1 control-plane and 2
 * worker static nodes), with an inventory that names only the Kubernetes release and a mirror of the
 * official release layout served on loopback by this test (issue #16): `yagura reconcile` downloads
 * each binary once, checked against its published sha256, copies it to the nodes, and applies a small CRD-plus-workload bundle in rank order
 * through the API (CRDs Established first, then the custom resources yagura renders), and the
 * boot-taint rung waits while the CNI stand-in's pods are not Ready, then lifts the taint once
 * they are. Runs only with YAGURA_KUBE_BIN_DIR naming a directory of Kubernetes server binaries.
 *
 * The lab cannot pull images: the stand-in CNI DaemonSet runs the lab's pause image and its pods
 * turn Ready only when this test opens a port on their node, so the test decides when the CNI is
 * "ready" and can watch the rung wait until then. A plain bridge CNI config lets kubelets report
 * Ready meanwhile (as in the issue #6 e2e).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REVISION_ANNOTATION } from "../../src/addons/objects.js";
import { clusterSpec } from "../../src/cluster/spec.js";
import { shq } from "../../src/infra/shell.js";
import { createKubeApi } from "../../src/infra/kube.js";
import type { KubeApi } from "../../src/infra/kube-types.js";
import { loadInventory } from "../../src/inventory/load.js";
import { labDown, labUp } from "../../src/lab/index.js";
import { COMPONENT_BINARIES } from "../../src/inventory/schema.js";
import { startReleaseServer, type ReleaseServer } from "../support/release-server.js";
import {
  addonInventoryLines,
  addonsLabInventoryText,
  bridgeCniConfig,
  readyListenerCommand,
  standInCniBundle,
} from "./addons-lab.js";
import { cli, onNode, opsOf } from "./helpers.js";
import { binaryVersion, endpointFromKubeconfig, kubeE2eSkipReason, type K8sLabNode } from "./k8s-lab.js";

const BIN = process.env["YAGURA_KUBE_BIN_DIR"];
const skip = kubeE2eSkipReason("add-ons e2e", BIN);
if (skip) console.warn(skip);

const ENV = "e84a";
const BOOT = "node.yagura.io/not-ready";
const NODES: K8sLabNode[] = [
  { name: "cp1", address: "10.84.0.11", role: "control-plane" },
  { name: "w1", address: "10.84.0.21", role: "worker" },
  { name: "w2", address: "10.84.0.22", role: "worker" },
];

describe.skipIf(skip !== undefined)("add-ons in rank order and the boot taint in the lab (issue #7)", () => {
  const root = skip ? "" : mkdtempSync(join(tmpdir(), "yagura-addons-e2e-"));
  const state = join(root, "state");
  const file = join(root, `${ENV}.yaml`);
  const spec = () => {
    const r = loadInventory(file);
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    return clusterSpec(r.env, r.inventory);
  };
  let api: KubeApi | undefined;
  let mirror: ReleaseServer | undefined;

  beforeAll(async () => {
    const bundle = standInCniBundle();
    writeFileSync(join(root, "cni.yaml"), bundle);
    // The binaries come by version alone from a mirror of the official layout on loopback; the
    // download happens here, and the k8s-artifacts op copies them to the nodes over SSH.
    mirror = await startReleaseServer(BIN!, binaryVersion(BIN!));
    const text = addonsLabInventoryText({
      env: ENV,
      bridge: "ygbr84a",
      cidr: "10.84.0.0/24",
      version: binaryVersion(BIN!),
      releaseUrl: mirror.url,
      nodes: NODES,
    });
    writeFileSync(file, `${text}${addonInventoryLines(bundle, "cni.yaml").join("\n")}\n`);
    await labUp(spec(), { stateRoot: state });
    for (const [i, n] of NODES.entries()) {
      const r = await onNode(
        state,
        ENV,
        n.address,
        `mkdir -p /etc/cni/net.d && printf '%s\\n' ${shq(bridgeCniConfig(i))} > /etc/cni/net.d/10-yagura-lab.conflist`,
      );
      expect(r.code, r.stderr).toBe(0);
    }
    const k = await cli(state, ["kubeconfig", file]);
    expect(k.code, k.out).toBe(0);
    api = createKubeApi(endpointFromKubeconfig(readFileSync(k.out.trim().split("\n").at(-1)!, "utf8")), {
      timeoutMs: 3000,
    });
  }, 300_000);

  afterAll(async () => {
    if (skip) return;
    await api?.close();
    await mirror?.close();
    // Stopping each node's PID 1 also ends the port listeners started on it.
    await labDown(ENV, { stateRoot: state }).catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
  }, 120_000);

  it("applies the bundle in order, waits while the CNI is not ready, then lifts the boot taint", async () => {
    let sawWait = false;
    const taintedWhileWaiting: string[] = [];
    const checks: Promise<void>[] = [];
    const r = await cli(state, ["reconcile", file, "--max-passes", "80"], (line) => {
      if (!sawWait && /^pass \d+: boot-taint-wait/.test(line)) {
        sawWait = true;
        // The rung is waiting: every node still carries the taint; now make the CNI ready.
        checks.push(
          (async () => {
            for (const n of await api!.listNodes())
              if (n.taints.some((t) => t.key === BOOT)) taintedWhileWaiting.push(n.name);
            for (const n of NODES) {
              const l = await onNode(state, ENV, n.address, readyListenerCommand());
              expect(l.code, l.stderr).toBe(0);
            }
          })(),
        );
      }
      return false;
    });
    await Promise.all(checks);
    expect(r.code, r.out).toBe(0);
    expect(sawWait, r.out).toBe(true);
    expect(taintedWhileWaiting.sort()).toEqual(NODES.map((n) => n.name).sort());

    // Each binary came from the mirror once (with its published checksum), however many nodes run it.
    for (const b of COMPONENT_BINARIES) {
      const path = `/release/v${binaryVersion(BIN!)}/bin/linux/amd64/${b}`;
      expect([mirror!.requests.get(path), mirror!.requests.get(`${path}.sha256`)], b).toEqual([1, 1]);
      expect(r.out).toMatch(new RegExp(`^downloaded ${b} .* sha256 ok$`, "m"));
    }

    // Add-ons before the taint came off, and the taint came off only after the wait.
    const ops = opsOf(r.out);
    const applied = ops.indexOf("addons-apply");
    const waited = ops.indexOf("boot-taint-wait");
    const lifted = ops.lastIndexOf("boot-taint-remove");
    expect(applied).toBeGreaterThanOrEqual(0);
    expect(waited).toBeGreaterThan(applied);
    expect(lifted).toBeGreaterThan(waited);

    for (const n of await api!.listNodes())
      expect(
        n.taints.map((t) => t.key),
        n.name,
      ).not.toContain(BOOT);
    // Every object is there with its revision; the custom resources only exist because their CRDs were Established first.
    for (const ref of [
      {
        apiVersion: "apiextensions.k8s.io/v1",
        kind: "CustomResourceDefinition",
        name: "installations.operator.tigera.io",
      },
      { apiVersion: "operator.tigera.io/v1", kind: "Installation", name: "default" },
      { apiVersion: "crd.projectcalico.org/v1", kind: "BGPConfiguration", name: "default" },
      { apiVersion: "apps/v1", kind: "DaemonSet", namespace: "calico-system", name: "calico-node" },
      { apiVersion: "apps/v1", kind: "Deployment", namespace: "calico-system", name: "web" },
    ]) {
      const o = await api!.get(ref);
      expect(o?.metadata.annotations?.[REVISION_ANNOTATION], `${ref.kind}/${ref.name}`).toMatch(/^[0-9a-f]{32}$/);
    }
  }, 1_500_000);

  it("a second reconcile sends nothing", async () => {
    const r = await cli(state, ["reconcile", file]);
    expect(r.code, r.out).toBe(0);
    expect(opsOf(r.out)).toEqual([]);
  }, 300_000);
});
