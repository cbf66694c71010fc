/**
 * Issue #6 end to end in a real lab (own bridge ygbr83k, 10.83.0.0/24; 3 control-plane and 2
 * worker static nodes): from empty, `yagura reconcile` (scope all) brings up etcd, the control
 * plane and every kubelet; `yagura kubeconfig` gives an admin kubeconfig with which /readyz says
 * ok; every node registered carrying the boot taint and ends with the inventory's labels and
 * taints; a second reconcile runs no op. Runs only with YAGURA_KUBE_BIN_DIR naming a directory of
 * Kubernetes server binaries; the inventory pins the checksums of exactly those binaries.
 *
 * The lab cannot pull a CNI's images, so the inventory chooses the bridge pod network, which the
 * reconciler renders and routes itself; the boot taint lifts once a node is Ready with it in place.
 * Registration with the boot taint is watched from this test through the API while the reconcile runs.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clusterSpec } from "../../src/cluster/spec.js";
import { createKubeApi } from "../../src/infra/kube.js";
import type { KubeApi, KubeNode } from "../../src/infra/kube-types.js";
import { loadInventory } from "../../src/inventory/load.js";
import { labDown, labUp } from "../../src/lab/index.js";
import { cli, opsOf } from "./helpers.js";
import {
  binaryChecksums,
  binaryVersion,
  endpointFromKubeconfig,
  k8sLabInventoryText,
  kubeE2eSkipReason,
  type K8sLabNode,
} from "./k8s-lab.js";

const BIN = process.env["YAGURA_KUBE_BIN_DIR"];
const skip = kubeE2eSkipReason("k8s e2e", BIN);
if (skip) console.warn(skip);

const ENV = "e83k";
const BOOT = "node.yagura.io/not-ready";
const NODES: K8sLabNode[] = [
  { name: "cp1", address: "10.83.0.11", role: "control-plane", labels: { "node.yagura.io/tier": "control" } },
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
];

/** Records, for each node, the taints it had when this test first saw it registered. */
function watchRegistrations(api: KubeApi): { firstSeen: Map<string, KubeNode>; stop: () => Promise<void> } {
  const firstSeen = new Map<string, KubeNode>();
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        for (const n of await api.listNodes()) if (!firstSeen.has(n.name)) firstSeen.set(n.name, n);
      } catch {
        // The API is not up yet: keep looking.
      }
      await new Promise((r) => setTimeout(r, 300));
    }
  })();
  return {
    firstSeen,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

describe.skipIf(skip !== undefined)("Kubernetes control plane and kubelets in the lab (issue #6)", () => {
  const root = skip ? "" : mkdtempSync(join(tmpdir(), "yagura-k8s-e2e-"));
  const state = join(root, "state");
  const file = join(root, `${ENV}.yaml`);
  const spec = () => {
    const r = loadInventory(file);
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    return clusterSpec(r.env, r.inventory);
  };
  let kubeconfig = "";
  let api: KubeApi | undefined;

  beforeAll(async () => {
    // Checksums and version from the binaries this run will install: the inventory pins exactly them.
    const text = k8sLabInventoryText({
      env: ENV,
      bridge: "ygbr83k",
      cidr: "10.83.0.0/24",
      version: binaryVersion(BIN!),
      sha256: binaryChecksums(BIN!),
      nodes: NODES,
    });
    writeFileSync(file, text);
    await labUp(spec(), { stateRoot: state });
  }, 300_000);

  afterAll(async () => {
    if (skip) return;
    await api?.close();
    await labDown(ENV, { stateRoot: state }).catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
  }, 120_000);

  it("reconciles from empty to a ready API with every node registered under the boot taint, then labelled and tainted", async () => {
    // The kubeconfig first: it creates the Kubernetes CA the reconcile then uses, and lets this
    // test watch registrations while the reconcile runs.
    const k = await cli(state, ["kubeconfig", file]);
    expect(k.code, k.out).toBe(0);
    kubeconfig = k.out.trim().split("\n").at(-1)!;
    api = createKubeApi(endpointFromKubeconfig(readFileSync(kubeconfig, "utf8")), { timeoutMs: 3000 });
    const watch = watchRegistrations(api);
    const r = await cli(state, ["reconcile", file, "--max-passes", "60"]).finally(() => watch.stop());
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/completed after \d+ pass\(es\)/);

    const kubectl = join(BIN!, "kubectl");
    if (existsSync(kubectl)) {
      const rz = spawnSync(kubectl, ["--kubeconfig", kubeconfig, "get", "--raw", "/readyz"], { encoding: "utf8" });
      expect(rz.status, rz.stderr).toBe(0);
      expect(rz.stdout.trim()).toBe("ok");
    } else {
      console.warn(`k8s e2e: no kubectl in ${BIN}; checking /readyz through yagura's API client instead`);
      expect(await api.readyz()).toEqual({ ok: true, body: "ok" });
    }

    const nodes = new Map((await api.listNodes()).map((n) => [n.name, n]));
    for (const n of NODES) {
      const first = watch.firstSeen.get(n.name);
      expect(first, `${n.name} was never seen registered`).toBeDefined();
      expect(
        first!.taints.map((t) => t.key),
        `${n.name} registered without the boot taint`,
      ).toContain(BOOT);
      const now = nodes.get(n.name)!;
      expect(now.labels).toMatchObject(n.labels ?? {});
      for (const t of n.taints ?? []) expect(now.taints).toContainEqual(t);
      expect(now.conditions["Ready"]).toBe("True");
    }
    expect([...nodes.keys()].sort()).toEqual(NODES.map((n) => n.name).sort());

    const s = await cli(state, ["status", file, "--json"]);
    expect(s.code, s.out).toBe(0);
    const j = JSON.parse(s.out.slice(s.out.indexOf("{")));
    expect(j.conditions.kubernetes).toContainEqual(expect.objectContaining({ type: "KubeAPIReady", status: "True" }));
    expect(j.conditions.kubernetes).toContainEqual(
      expect.objectContaining({ type: "NodesRegistered", status: "True" }),
    );
  }, 1_200_000);

  it("a second reconcile runs no op", async () => {
    const history = async () => (await cli(state, ["history", file, "--json", "--limit", "100000"])).out.trim();
    const before = await history();
    const r = await cli(state, ["reconcile", file]);
    expect(r.code, r.out).toBe(0);
    expect(opsOf(r.out)).toEqual([]);
    expect(r.out).toMatch(/completed after 1 pass\(es\), 0 op\(s\)/);
    expect(await history()).toBe(before);
  }, 300_000);
});
