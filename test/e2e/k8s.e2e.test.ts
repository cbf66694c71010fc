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
import { cli, onNode, opsOf, until } from "./helpers.js";
import { K8S_CERT } from "../../src/k8s/certs.js";
import { certPaths } from "../../src/k8s/layout.js";
import {
  buildEchoImage,
  clusterIpService,
  namespace,
  NS,
  parseProbe,
  probePod,
  PROBE_DIR,
  serverDeployment,
  serverPod,
} from "./serve-lab.js";
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
    // ipvs: kube-proxy falls back to iptables where the kernel lacks ip_vs, and status must say which it runs.
    writeFileSync(file, text.replace(/^cluster: \{ /m, "cluster: { kubeProxyMode: ipvs, "));
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
    // The mode each kube-proxy reports, and a condition that is False exactly where it is not ipvs.
    for (const n of NODES) {
      const mode = (await onNode(state, ENV, n.address, "curl -s -m 5 http://127.0.0.1:10249/proxyMode")).stdout.trim();
      expect(["ipvs", "iptables"], `${n.name}: /proxyMode`).toContain(mode);
      expect(j.status.nodes[n.name].proxyMode, n.name).toBe(mode);
      expect(j.conditions.nodes[n.name], n.name).toContainEqual(
        expect.objectContaining({ type: "KubeProxyMode", status: mode === "ipvs" ? "True" : "False" }),
      );
      if (mode !== "ipvs") expect(r.out).toContain(`warning: ${n.name}: kube-proxy runs in ${mode} mode`);
    }
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

  it("serves: pods of a locally built image on both workers talk across nodes, a ClusterIP Service reaches a pod on another node, and a Deployment lands only where the taints allow", async () => {
    const image = buildEchoImage().toString("base64");
    const byName = new Map(NODES.map((n) => [n.name, n.address]));
    for (const n of NODES) {
      // Nothing can be pulled: put the image where yagura's containerd start script imports from, and import it now.
      const r = await onNode(
        state,
        ENV,
        n.address,
        `mkdir -p /opt/yagura/images && base64 -d > /opt/yagura/images/echo.tar && ctr -n k8s.io images import /opt/yagura/images/echo.tar >/dev/null`,
        image,
      );
      expect(r.code, r.stderr).toBe(0);
    }
    const a = api!;
    await a.apply(namespace);
    await a.apply(serverPod("echo-w2", "w2", { role: "svc" }, ["dedicated"]));
    await a.apply(clusterIpService("echo", { role: "svc" }));
    await a.apply(serverDeployment(3));
    const pods = async () => a.listPods({ namespace: NS });
    expect(
      await until(180_000, async () => (await pods()).filter((p) => p.ready).length === 4),
      `pods not Ready: ${JSON.stringify(await pods())}`,
    ).toBe(true);
    // Control-plane nodes are tainted and w2 is dedicated: the Deployment may only use w1.
    const deployed = (await pods()).filter((p) => p.labels["app"] === "echo-deploy");
    expect(deployed.map((p) => p.nodeName)).toEqual(["w1", "w1", "w1"]);

    const ipOf = async (name: string) =>
      ((await a.get({ apiVersion: "v1", kind: "Pod", namespace: NS, name }))!["status"] as { podIP: string }).podIP;
    const svc = (await a.get({ apiVersion: "v1", kind: "Service", namespace: NS, name: "echo" }))!;
    const clusterIP = (svc["spec"] as { clusterIP: string }).clusterIP;
    const w2Pod = await ipOf("echo-w2");
    const w1Pod = await ipOf(deployed[0]!.name);
    await a.apply(
      probePod("probe-w1", "w1", [
        [w2Pod, 8080],
        [clusterIP, 80],
      ]),
    );
    await a.apply(probePod("probe-w2", "w2", [[w1Pod, 8080]], ["dedicated"]));

    const result = async (node: string) =>
      parseProbe((await onNode(state, ENV, byName.get(node)!, `cat ${PROBE_DIR}/result 2>/dev/null; true`)).stdout);
    const pong = (r: Record<string, string>, key: string, pod: string) => r[key] === `pong ${pod}`;
    let seen: Record<string, Record<string, string>> = {};
    const ok = await until(180_000, async () => {
      seen = { w1: await result("w1"), w2: await result("w2") };
      return (
        pong(seen["w1"]!, `${w2Pod}:8080`, "echo-w2") &&
        pong(seen["w1"]!, `${clusterIP}:80`, "echo-w2") &&
        pong(seen["w2"]!, `${w1Pod}:8080`, deployed[0]!.name)
      );
    });
    expect(ok, `probe results: ${JSON.stringify(seen)}`).toBe(true);
    await a.delete({ apiVersion: "v1", kind: "Namespace", name: NS });
  }, 600_000);

  it("faults on the running cluster, repaired by one reconcile while the untouched apiserver serves throughout", async () => {
    const a = api!;
    const at = (name: string) => NODES.find((n) => n.name === name)!.address;
    const sh = async (name: string, cmd: string) => {
      const r = await onNode(state, ENV, at(name), cmd);
      expect(r.code, `${name}: ${cmd}: ${r.stderr}`).toBe(0);
      return r.stdout.trim();
    };
    const pidOf = (svc: string) => `cat /etc/service/${svc}/supervise/pid`;
    const clientCert = certPaths(K8S_CERT.kubeletClient("w1")).cert;
    const apiserverRun = "/etc/yagura/sv/kube-apiserver/run";
    const before = {
      kubeletW2: await sh("w2", pidOf("kubelet")),
      apiserverCp3: await sh("cp3", pidOf("kube-apiserver")),
    };

    await sh("cp2", `kill -9 $(${pidOf("kube-apiserver")})`);
    await sh("w2", `kill -9 $(${pidOf("kubelet")})`);
    await sh("w1", "sv down /etc/service/containerd");
    await sh("w1", `rm -f ${clientCert}`);
    await sh("cp3", `echo '# edited by hand' >> ${apiserverRun}`);
    await a.delete({ apiVersion: "v1", kind: "Node", name: "w2" });

    // status names the stopped component and shows the last lines of its log beneath it.
    const st = await cli(state, ["status", file]);
    expect(st.code, st.out).toBe(0);
    const w1 = st.out.slice(st.out.indexOf("w1 ("), st.out.indexOf("w2 ("));
    expect(w1).toMatch(/containerdReady\b.*Stopped.*\n(\s+\| .+\n)+/);

    // cp1's apiserver is not touched: it must answer all along (the admin endpoint is cp1).
    let probes = 0;
    const failures: string[] = [];
    let probing = true;
    const prober = (async () => {
      while (probing) {
        probes++;
        const r = await a.readyz().catch((e: Error) => ({ ok: false, body: e.message }));
        if (!r.ok) failures.push(r.body.slice(0, 200));
        await new Promise((res) => setTimeout(res, 500));
      }
    })();
    const r = await cli(state, ["reconcile", file, "--max-passes", "60"]).finally(async () => {
      probing = false;
      await prober;
    });
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/completed after \d+ pass\(es\)/);
    const ops = opsOf(r.out);
    expect(ops).toEqual(expect.arrayContaining(["runtime-containerd", "k8s-node-files", "k8s-kube-apiserver"]));
    expect(failures, `${failures.length}/${probes} readyz probes of cp1 failed`).toEqual([]);

    expect(await sh("w1", "sv status /etc/service/containerd")).toMatch(/^run: /);
    expect(await sh("w1", `test -s ${clientCert} && echo present`)).toBe("present");
    expect(await sh("cp3", `grep -c 'edited by hand' ${apiserverRun} || true`)).toBe("0");
    expect(await sh("cp3", pidOf("kube-apiserver"))).not.toBe(before.apiserverCp3);
    expect(await sh("w2", pidOf("kubelet"))).not.toBe(before.kubeletW2);
    const nodes = new Map((await a.listNodes()).map((n) => [n.name, n]));
    for (const n of NODES) expect(nodes.get(n.name)?.conditions["Ready"], n.name).toBe("True");
    // The re-registered w2 got its inventory taint back and lost the boot taint again.
    expect(nodes.get("w2")!.taints.map((t) => t.key)).toEqual(expect.arrayContaining(["dedicated"]));
    expect(nodes.get("w2")!.taints.map((t) => t.key)).not.toContain(BOOT);
  }, 900_000);
});
