/**
 * Inventory-driven rebuilds with the Kubernetes API in a real lab (own bridge ygbr90k,
 * 10.90.0.0/24; scope all, 3 control-plane nodes and 2 workers running the binaries in
 * YAGURA_KUBE_BIN_DIR): grow the control plane 3→5, shrink 5→3, replace a control-plane node and
 * two workers (their directories wiped as a reimage would), each under an etcd writer and an API
 * writer that must lose no acknowledged write. For every replaced node drain and uncordon must be
 * done, not skipped: a pod pinned to it is evicted, the Node is seen cordoned during the apply and
 * is Ready and schedulable after it. Runs only with Kubernetes binaries; each node gets a bridge
 * CNI config, as in the Kubernetes lab e2e file, so its kubelet reports Ready without add-ons.
 */
import { readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { createKubeApi } from "../../src/infra/kube.js";
import type { KubeApi, KubeObjectRef } from "../../src/infra/kube-types.js";
import { PAUSE_IMAGE_REF } from "../../src/lab/index.js";
import { cli, until } from "../e2e/helpers.js";
import { binaryChecksums, binaryVersion, endpointFromKubeconfig, kubeE2eSkipReason } from "../e2e/k8s-lab.js";
import { kubeWriter } from "./kube-writer.js";
import {
  addressOf,
  cps,
  etcdMembers,
  etcdURL,
  etcdWriter,
  outcomesOf,
  stepsOf,
  useRebuildLab,
  workers,
  type RebuildLabNet,
} from "./lab.js";

const BIN = process.env["YAGURA_KUBE_BIN_DIR"];
const skip = kubeE2eSkipReason("rebuild kube e2e", BIN);
if (skip) console.warn(skip);

const LAB: RebuildLabNet = {
  env: "rb90k",
  bridge: "ygbr90k",
  net: "10.90.0",
  ...(skip ? {} : { kube: { version: binaryVersion(BIN!), sha256: binaryChecksums(BIN!) } }),
};
const CP3 = ["cp1", "cp2", "cp3"];
const urls = (names: readonly string[]) => names.map((n) => etcdURL(n, LAB));

describe.skipIf(skip !== undefined)("inventory-driven rebuilds with the Kubernetes API in the lab", () => {
  const lab = useRebuildLab([...cps(3), ...workers(2)], skip, LAB);
  const apply = () => cli(lab.state, ["apply", lab.file, "--max-passes", "60"]);
  /** One client per API server of cp1…cp3 (the writer moves on when one fails); the first reads. */
  const apis: KubeApi[] = [];
  afterAll(async () => {
    for (const a of apis) await a.close();
  });

  const nodes = async () => new Map((await apis[0]!.listNodes()).map((n) => [n.name, n]));
  /** Whether every named Node is Ready and schedulable within five minutes. */
  const readyAndSchedulable = (names: readonly string[]) =>
    until(300_000, async () => {
      const m = await nodes().catch(() => new Map());
      return names.every((n) => m.get(n)?.conditions["Ready"] === "True" && m.get(n)?.unschedulable === false);
    });
  /** A bare pod pinned to `node` (no scheduler, no controller): a drain must evict it. */
  const pinPod = async (node: string): Promise<KubeObjectRef> => {
    const ref = { apiVersion: "v1", kind: "Pod", namespace: "default", name: `pinned-${node}` };
    await apis[0]!.apply({
      apiVersion: ref.apiVersion,
      kind: ref.kind,
      metadata: { name: ref.name, namespace: ref.namespace },
      spec: {
        nodeName: node,
        automountServiceAccountToken: false,
        terminationGracePeriodSeconds: 1,
        containers: [{ name: "pause", image: PAUSE_IMAGE_REF, imagePullPolicy: "Never" }],
      },
    });
    return ref;
  };

  /** Runs an apply under both writers (and a watch of cordons); neither writer may lose an acknowledged write. */
  async function applyUnderWriters(what: string, read: readonly string[]) {
    const cordoned = new Set<string>();
    let watching = true;
    const watch = (async () => {
      while (watching) {
        for (const n of (await nodes().catch(() => new Map())).values()) if (n.unschedulable) cordoned.add(n.name);
        await new Promise((r) => setTimeout(r, 300));
      }
    })();
    const e = etcdWriter(lab.state, urls(CP3), LAB.env);
    const k = kubeWriter(apis);
    const r = await apply();
    watching = false;
    await watch;
    const eg = await e.stop(urls(read));
    const kg = await k.stop(apis[0]!);
    console.log(`${what} etcd writer: ${eg.acked} acknowledged, ${eg.failed} failed, ${eg.missing.length} missing`);
    console.log(`${what} API writer: ${kg.acked} acknowledged, ${kg.failed} failed, ${kg.missing.length} missing`);
    if (kg.errors.length) console.log(`${what} API writer errors: ${kg.errors.join(" | ")}`);
    expect(r.code, r.out).toBe(0);
    expect(eg.missing).toEqual([]);
    expect(kg.missing).toEqual([]);
    expect(eg.acked).toBeGreaterThan(10);
    expect(kg.acked).toBeGreaterThan(10);
    return { out: r.out, cordoned: [...cordoned].sort() };
  }

  it("a first apply brings up etcd, the control plane and every kubelet", async () => {
    // The kubeconfig first: it creates the Kubernetes CA the apply then uses.
    const kc = await cli(lab.state, ["kubeconfig", lab.file]);
    expect(kc.code, kc.out).toBe(0);
    const endpoint = endpointFromKubeconfig(readFileSync(kc.out.trim().split("\n").at(-1)!, "utf8"));
    for (const n of CP3) {
      const server = new URL(endpoint.server);
      server.hostname = addressOf(n, LAB);
      apis.push(createKubeApi({ ...endpoint, server: server.origin }, { timeoutMs: 3000 }));
    }
    const r = await apply();
    expect(r.code, r.out).toBe(0);
    expect(stepsOf(r.out)).toEqual(["reconcile cp1, cp2, cp3, w1, w2", "record-built"]);
    expect(await readyAndSchedulable([...CP3, "w1", "w2"])).toBe(true);
  }, 1_200_000);

  it("grows the control plane 3→5 under both writers", async () => {
    await lab.write([...cps(5), ...workers(2)], { up: true });
    const r = await applyUnderWriters("grow 3→5", ["cp1", "cp2", "cp3", "cp4", "cp5"]);
    expect(stepsOf(r.out)).toEqual(["reconcile cp4, cp5", "record-built"]);
    expect(etcdMembers(lab.state, "cp4", LAB)).toEqual(cps(5).map((n) => `${n.name} started`));
    expect(await readyAndSchedulable(["cp4", "cp5"])).toBe(true);
  }, 900_000);

  it("shrinks 5→3 under both writers, draining each leaving node through the API", async () => {
    await lab.write([...cps(3), ...workers(2)]);
    const r = await applyUnderWriters("shrink 5→3", CP3);
    expect(stepsOf(r.out)).toEqual([
      "drain cp4",
      "etcd-leave cp4",
      "drain cp5",
      "etcd-leave cp5",
      "release cp4, cp5",
      "reconcile",
      "record-built",
    ]);
    expect(outcomesOf(r.out, "drain")).toEqual([
      expect.stringMatching(/^done: cordoned cp4, evicted \d+ pod\(s\)/),
      expect.stringMatching(/^done: cordoned cp5, evicted \d+ pod\(s\)/),
    ]);
    expect(r.cordoned).toEqual(["cp4", "cp5"]);
    expect(etcdMembers(lab.state, "cp1", LAB)).toEqual(CP3.map((n) => `${n} started`));
    // The final reconcile deletes the Nodes the inventory no longer has.
    expect([...(await nodes()).keys()].sort()).toEqual([...CP3, "w1", "w2"]);
    await lab.write([...cps(3), ...workers(2)], { up: true, prune: true });
  }, 900_000);

  it("replaces a control-plane node under both writers: drained, wiped, rejoined, Ready and uncordoned", async () => {
    const pinned = await pinPod("cp2");
    await lab.write([...cps(3, { cp2: "r1" }), ...workers(2)]);
    const r = await applyUnderWriters("replace cp2", CP3);
    expect(stepsOf(r.out)).toEqual([
      "drain cp2",
      "etcd-leave cp2",
      "reimage cp2",
      "reconcile cp2",
      "uncordon cp2",
      "record-built",
    ]);
    expect(outcomesOf(r.out, "drain")).toEqual([
      expect.stringMatching(/^done: cordoned cp2, evicted [1-9]\d* pod\(s\)/),
    ]);
    expect(outcomesOf(r.out, "uncordon")).toEqual(["done: uncordoned cp2 (Ready)"]);
    expect(r.cordoned).toEqual(["cp2"]);
    expect(await apis[0]!.get(pinned)).toBeUndefined();
    expect(etcdMembers(lab.state, "cp1", LAB)).toEqual(CP3.map((n) => `${n} started`));
    expect(await readyAndSchedulable(["cp2"])).toBe(true);
  }, 900_000);

  it("replaces two workers in one batch under both writers: drained, wiped, Ready and uncordoned", async () => {
    const pinned = [await pinPod("w1"), await pinPod("w2")];
    await lab.write([...cps(3, { cp2: "r1" }), ...workers(2, { w1: "a", w2: "a" })]);
    const r = await applyUnderWriters("replace w1, w2", CP3);
    expect(stepsOf(r.out)).toEqual([
      "drain w1, w2",
      "reimage w1, w2",
      "reconcile w1, w2",
      "uncordon w1, w2",
      "record-built",
    ]);
    expect(outcomesOf(r.out, "drain")).toEqual([
      expect.stringMatching(/^done: cordoned w1, w2, evicted [2-9]\d* pod\(s\)/),
    ]);
    expect(outcomesOf(r.out, "uncordon")).toEqual(["done: uncordoned w1, w2 (Ready)"]);
    expect(r.cordoned).toEqual(["w1", "w2"]);
    for (const p of pinned) expect(await apis[0]!.get(p)).toBeUndefined();
    expect(await readyAndSchedulable(["w1", "w2"])).toBe(true);
  }, 900_000);
});
