/**
 * The node side of the Kubernetes rungs against real sshd and runit in a lab (own bridge ygbr87c,
 * 10.87.0.0/24). The Kubernetes binaries are not on this machine, so small real programs stand in
 * for them (fake-bins.ts: each checks the files its flags name; the apiserver one serves /readyz
 * over TLS with the certificate yagura issued), and an in-memory KubeApi stands in for the API the
 * boot-gate op writes to. Proven here: artifact install from a local directory with the sha256
 * re-checked on the node, certificates and files (keys 0600), components started under runit with
 * their fingerprints, apiservers updated one node at a time, kubelets in batches, drift repair,
 * and the boot gate holding a kubelet back until the boot taint is back.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { envPaths } from "../../../src/cluster/paths.js";
import type { ClusterStatus, KubeStatus, NodeStatus } from "../../../src/cluster/status.js";
import { decideArtifacts } from "../../../src/decide/k8s-artifacts.js";
import { decideControlPlane } from "../../../src/decide/k8s-control-plane.js";
import { decideNodeComponents } from "../../../src/decide/k8s-nodes.js";
import type { Decision } from "../../../src/decide/types.js";
import type { KubeApi, KubeNode } from "../../../src/infra/kube-types.js";
import { createSshPool } from "../../../src/infra/ssh.js";
import type { Taint } from "../../../src/inventory/schema.js";
import type { ArtifactPlan } from "../../../src/k8s/artifacts.js";
import { BOOT_GATE } from "../../../src/k8s/boot-gate.js";
import { K8S } from "../../../src/k8s/layout.js";
import { observeNode } from "../../../src/observe/index.js";
import { installArtifact } from "../../../src/ops/k8s/artifacts.js";
import type { OpContext } from "../../../src/ops/types.js";
import { prepareMaterial } from "../../../src/run/material.js";
import { e2eSkipReason, onNode, useLab } from "../../e2e/helpers.js";
import { writeFakeBins } from "./fake-bins.js";

const skip = e2eSkipReason();
if (skip) console.warn(skip);

const ENV = "k87";
const NODES: [string, string][] = [
  ["node1", "10.87.0.11"],
  ["node2", "10.87.0.12"],
  ["node3", "10.87.0.13"],
];
const addr = Object.fromEntries(NODES);

/** The API as the boot-gate op sees it: Nodes in memory; every other call is not implemented. */
class FakeKube {
  readonly nodes = new Map<string, KubeNode>();
  readonly taintWrites: { node: string; taints: readonly Taint[] }[] = [];
  register(name: string, taints: Taint[]) {
    this.nodes.set(name, { name, labels: {}, annotations: {}, taints, unschedulable: false, conditions: {} });
  }
  status(): KubeStatus {
    return {
      ready: true,
      defaultServiceAccount: true,
      nodes: Object.fromEntries(this.nodes),
      daemonSetPods: {},
      csiDrivers: {},
      objects: {},
    };
  }
  api(): KubeApi {
    const nope = () => {
      throw new Error("not implemented");
    };
    return {
      listNodes: async () => [...this.nodes.values()],
      setNodeTaints: async (node, taints) => {
        this.taintWrites.push({ node, taints });
        this.nodes.set(node, { ...this.nodes.get(node)!, taints });
      },
      readyz: nope,
      get: nope,
      list: nope,
      apply: nope,
      delete: nope,
      cordon: nope,
      listPods: nope,
      evict: nope,
      close: async () => undefined,
    };
  }
}

describe.skipIf(skip !== undefined)("Kubernetes node ops in the lab (real sshd and runit, stand-in binaries)", () => {
  const bins = mkdtempSync(join(tmpdir(), "yagura-k8s-bins-"));
  afterAll(() => rmSync(bins, { recursive: true, force: true }));
  const paths = writeFakeBins(bins);
  const sha = (p: string) => createHash("sha256").update(readFileSync(p)).digest("hex");
  const binaryLines = Object.entries(paths).map(([n, p]) => `    ${n}: { version: v1.33.5, sha256: ${sha(p)} }`);
  const lab = useLab({
    inventory: {
      env: ENV,
      bridge: "ygbr87c",
      cidr: "10.87.0.0/24",
      nodes: NODES,
      extra: [
        "artifacts:",
        "  source: local",
        `  localDir: ${bins}`,
        "  binaries:",
        ...binaryLines,
        "reconciler: { maxConcurrentUpdates: 2 }",
      ],
    },
    tmpPrefix: "k8sops",
    skip,
  });
  const kube = new FakeKube();
  const node = (name: string, cmd: string) => onNode(lab.state, ENV, addr[name]!, cmd);

  /** One pass of the three rungs: observe every node, decide, run the ops. */
  async function pass(): Promise<{ d: Decision | undefined; status: ClusterStatus }> {
    const spec = lab.spec();
    const p = envPaths(ENV, lab.state);
    const m = await prepareMaterial(spec, p.pkiDir, new Date(), { env: {} });
    const shell = createSshPool({
      targets: spec.nodes.map((n) => ({ name: n.name, host: n.address, port: 22, user: "root" })),
      privateKeyPath: p.sshKey,
      knownHostsPath: p.knownHosts,
      connectTimeoutMs: 5000,
    });
    try {
      const nodes: Record<string, NodeStatus> = {};
      for (const n of spec.nodes) nodes[n.name] = await observeNode(shell, n, m.desired);
      const status: ClusterStatus = { nodes, etcd: { members: [] }, kube: kube.status() };
      const o = { now: new Date(), desired: m.desired, scope: "all" as const };
      const d =
        decideArtifacts(spec, status, o) ??
        decideControlPlane(spec, status, o) ??
        decideNodeComponents(spec, status, o);
      const ctx: OpContext = {
        shell,
        etcdAdmin: () => {
          throw new Error("not implemented");
        },
        sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
        now: () => new Date(),
        kube: kube.api(),
      };
      for (const op of d?.ops ?? []) for (let c = op.nextCommand(); c; c = op.nextCommand()) await c.run(ctx);
      return { d, status };
    } finally {
      await shell.close();
    }
  }

  /** Passes until the rungs have nothing to do; returns "phase [targets]" per pass that ran ops. */
  async function converge(max = 15): Promise<string[]> {
    const seen: string[] = [];
    for (let i = 0; i < max; i++) {
      const { d } = await pass();
      if (!d) return seen;
      if (!d.ops.length) throw new Error(`stuck at ${d.phase}: ${d.message}`);
      seen.push(`${d.phase} [${d.ops.flatMap((o) => o.targets).join(",")}]`);
    }
    throw new Error(`not converged after ${max} passes: ${seen.join("; ")}`);
  }

  const kubeletCmdline = async (name: string) =>
    (await node(name, "tr '\\0' ' ' < /proc/$(cat /etc/service/kubelet/supervise/pid)/cmdline")).stdout;

  it("from empty: binaries, files, control plane, boot gates, then kubelets in batches of 2", async () => {
    const phases = await converge();
    expect(phases).toEqual([
      "k8s-artifacts [node1,node2,node3]",
      "k8s-control-plane-files [node1,node2,node3]",
      "k8s-apiserver-start [node1,node2,node3]",
      "k8s-controllers-start [node1,node2,node3]",
      "k8s-node-files [node1,node2,node3]",
      "k8s-boot-gate [node1,node2,node3]",
      "k8s-node-components [node1,node2]",
      "k8s-node-components [node3]",
    ]);
    // The stand-in apiserver answers /readyz over TLS with yagura's certificate, verified with the cluster CA.
    const ready = await node("node2", `curl -s -m 3 --cacert ${K8S.caCert} https://127.0.0.1:6443/readyz`);
    expect(ready.stdout).toBe("ok");
    const modes = await node(
      "node1",
      `stat -c '%a %n' ${K8S.saKey} ${K8S.encryptionConfig} /etc/kubernetes/pki/apiserver-node1.key /etc/kubernetes/kubelet.kubeconfig`,
    );
    expect(
      modes.stdout
        .trim()
        .split("\n")
        .map((l) => l.split(" ")[0]),
    ).toEqual(["600", "600", "600", "600"]);
    const bin = await node("node3", `sha256sum /opt/yagura/bin/kubelet | cut -c1-64`);
    expect(bin.stdout.trim()).toBe(sha(paths.kubelet!));
    const gate = await node("node3", `cat ${BOOT_GATE.file} /proc/sys/kernel/random/boot_id`);
    const [g, b] = gate.stdout.trim().split("\n");
    expect(g).toBe(b);
    // No Node was registered yet, so opening the gates needed no API write.
    expect(kube.taintWrites).toEqual([]);
  }, 240_000);

  it("a second pass does nothing", async () => {
    const { d, status } = await pass();
    expect(d, d?.message).toBeUndefined();
    expect(status.nodes.node1!.services["kube-apiserver"]).toMatchObject({ present: true, running: true });
    expect(status.nodes.node1!.health?.["kube-apiserver"]).toBe(true);
  }, 60_000);

  it("drift: a wrong binary, an edited kubelet config and a stopped kube-proxy are repaired", async () => {
    await node("node1", "echo broken > /opt/yagura/bin/kube-scheduler");
    await node("node3", `echo '# edited' >> ${K8S.kubeletConfig}`);
    await node("node2", "sv -w 10 down /etc/service/kube-proxy");
    const phases = await converge();
    expect(phases).toEqual(["k8s-artifacts [node1]", "k8s-node-files [node3]", "k8s-node-components [node2,node3]"]);
    expect((await node("node1", "sha256sum /opt/yagura/bin/kube-scheduler | cut -c1-64")).stdout.trim()).toBe(
      sha(paths["kube-scheduler"]!),
    );
    expect((await node("node3", `grep -c edited ${K8S.kubeletConfig}`)).stdout.trim()).toBe("0");
  }, 240_000);

  it("apiservers outdated on two nodes are restarted one at a time; a stopped one alone", async () => {
    await node("node1", "rm -f /etc/yagura/fingerprints/kube-apiserver");
    await node("node2", "rm -f /etc/yagura/fingerprints/kube-apiserver");
    expect(await converge()).toEqual(["k8s-apiserver-update [node1]", "k8s-apiserver-update [node2]"]);
    await node("node3", "sv -w 10 down /etc/service/kube-apiserver");
    expect(await converge()).toEqual(["k8s-apiserver-start [node3]"]);
  }, 240_000);

  it("a rebooted node's kubelet waits behind its gate until the boot taint is back on its Node", async () => {
    for (const [n] of NODES) kube.register(n, [{ key: "dedicated", value: "x", effect: "NoSchedule" }]);
    // A reboot, as the node sees it: the gate holds another boot's id when the kubelet starts again.
    await node(
      "node2",
      `echo 00000000-0000-0000-0000-000000000000 > ${BOOT_GATE.file} && sv -w 10 restart /etc/service/kubelet || true`,
    );
    let held = "";
    for (let i = 0; i < 40 && !held.includes("held back"); i++) {
      await new Promise((r) => setTimeout(r, 500));
      held = (await node("node2", "cat /var/log/kubelet/current 2>/dev/null | tail -n 3")).stdout;
    }
    expect(held).toMatch(/kubelet held back: waiting for yagura to re-add the boot taint/);
    expect(await kubeletCmdline("node2")).not.toMatch(/sleep 100000/);
    expect(await converge()).toEqual(["k8s-boot-gate [node2]"]);
    expect(kube.taintWrites).toEqual([
      {
        node: "node2",
        taints: [
          { key: "dedicated", value: "x", effect: "NoSchedule" },
          { key: "node.yagura.io/not-ready", value: "", effect: "NoSchedule" },
        ],
      },
    ]);
    // runit retries the run script; with the gate open it execs the kubelet.
    let cmd = "";
    for (let i = 0; i < 60 && !cmd.includes("sleep 100000"); i++) {
      await new Promise((r) => setTimeout(r, 500));
      cmd = await kubeletCmdline("node2");
    }
    expect(cmd).toMatch(/sleep 100000/);
  }, 120_000);

  it("mirror source: the node downloads the binary over HTTP, and a wrong checksum fails the op", async () => {
    // The mirror listens on the lab bridge's host address, inside this test's own network.
    const server = createServer((req, res) => {
      const name = (req.url ?? "").split("/").pop()!;
      if (req.url?.startsWith("/k8s/v1.33.5/") && paths[name]) res.end(readFileSync(paths[name]!));
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, "10.87.0.1", r));
    const port = (server.address() as { port: number }).port;
    const spec = lab.spec();
    const p = envPaths(ENV, lab.state);
    const shell = createSshPool({
      targets: spec.nodes.map((n) => ({ name: n.name, host: n.address, port: 22, user: "root" })),
      privateKeyPath: p.sshKey,
      knownHostsPath: p.knownHosts,
    });
    const ctx = { shell } as unknown as OpContext;
    const plan = (sha256: string): ArtifactPlan => ({
      name: "kube-proxy",
      version: "v1.33.5",
      sha256,
      nodePath: "/opt/yagura/mirror-test/kube-proxy",
      origin: { kind: "mirror", url: `http://10.87.0.1:${port}/k8s/v1.33.5/kube-proxy` },
    });
    try {
      await installArtifact(ctx, "node2", plan(sha(paths["kube-proxy"]!)));
      const got = await node(
        "node2",
        "stat -c %a /opt/yagura/mirror-test/kube-proxy && sha256sum /opt/yagura/mirror-test/kube-proxy",
      );
      expect(got.stdout).toContain("755");
      expect(got.stdout).toContain(sha(paths["kube-proxy"]!));
      await expect(installArtifact(ctx, "node2", plan("0".repeat(64)))).rejects.toThrow(
        /\/opt\/yagura\/mirror-test\/kube-proxy on node2 has sha256 [0-9a-f]{64}; expected kube-proxy v1\.33\.5 with sha256 0{64}: publish kube-proxy v1\.33\.5 at http/,
      );
    } finally {
      await node("node2", "rm -rf /opt/yagura/mirror-test");
      await shell.close();
      await new Promise((r) => server.close(r));
    }
  }, 60_000);

  it("a local binary that does not match its sha256 stops the rung with the file, checksum and setting", async () => {
    await node("node1", "rm -f /opt/yagura/bin/kube-proxy");
    const orig = readFileSync(paths["kube-proxy"]!);
    const { writeFileSync } = await import("node:fs");
    writeFileSync(paths["kube-proxy"]!, Buffer.concat([orig, Buffer.from("# changed\n")]));
    try {
      const { d } = await pass();
      expect(d?.phase).toBe("k8s-artifacts-missing");
      expect(d?.message).toMatch(
        /\/opt\/yagura\/bin\/kube-proxy is missing on node1; expected kube-proxy v1\.33\.5 with sha256 [0-9a-f]{64}/,
      );
      expect(d?.message).toMatch(/artifacts\.localDir|artifacts\.binaries\.kube-proxy\.sha256/);
    } finally {
      writeFileSync(paths["kube-proxy"]!, orig);
    }
    expect(await converge()).toEqual(["k8s-artifacts [node1]"]);
  }, 120_000);
});
