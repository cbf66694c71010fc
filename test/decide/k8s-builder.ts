/** Specs, desired state and status builders for the Kubernetes rungs' decide tables. */
import { clusterSpec, type ClusterSpec } from "../../src/cluster/spec.js";
import type { ClusterStatus, KubeStatus } from "../../src/cluster/status.js";
import type { KubeNode } from "../../src/infra/kube-types.js";
import { inventorySchema } from "../../src/inventory/schema.js";
import { planArtifacts, type Component } from "../../src/k8s/artifacts.js";
import { k8sCertPlan } from "../../src/k8s/certs.js";
import { buildK8sDesired } from "../../src/k8s/desired.js";
import type { Desired } from "../../src/ops/etcd/desired.js";
import { TEST_KEY } from "../k8s/fixture.js";
import { statusBuilder, testDesired } from "./builder.js";

const SHA = (c: string) => c.repeat(64);

/** Options of k8sSpec. */
export interface K8sSpecOptions {
  readonly maxConcurrentUpdates?: number;
  readonly source?: "local" | "mirror" | "image";
}

/** A lab spec with `cp` control-plane and `workers` worker nodes, every binary pinned. */
export function k8sSpec(cp: number, workers = 0, o: K8sSpecOptions = {}): ClusterSpec {
  const staticNodes = [
    ...Array.from({ length: cp }, (_, i) => ({
      name: `cp${i + 1}`,
      address: `10.79.0.${11 + i}`,
      role: "control-plane",
    })),
    ...Array.from({ length: workers }, (_, i) => ({ name: `w${i + 1}`, address: `10.79.1.${1 + i}`, role: "worker" })),
  ];
  const version = "v1.33.5";
  const inv = inventorySchema.parse({
    cluster: { name: "t", kubernetesVersion: "1.33.5" },
    staticNodes,
    artifacts: {
      source: o.source ?? "local",
      localDir: "/srv/kube-bin",
      mirrorUrl: "https://mirror.example.com/k8s",
      binaries: {
        "kube-apiserver": { version, sha256: SHA("a") },
        "kube-controller-manager": { version, sha256: SHA("b") },
        "kube-scheduler": { version, sha256: SHA("c") },
        kubelet: { version, sha256: SHA("d") },
        "kube-proxy": { version, sha256: SHA("e") },
      },
    },
    reconciler: { maxConcurrentUpdates: o.maxConcurrentUpdates ?? 3 },
  });
  return clusterSpec("t", inv);
}

/** Desired state (etcd and Kubernetes) with fake PEMs; `localProblems` mark local binaries as unusable. */
export function k8sDesired(spec: ClusterSpec, localProblems: Partial<Record<Component, string>> = {}): Desired {
  const certs = Object.fromEntries(
    k8sCertPlan(spec).map((e) => [
      e.request.name,
      { certPem: `cert-${e.request.name}`, keyPem: `key-${e.request.name}`, caPem: "ca" },
    ]),
  );
  const k8s = buildK8sDesired(spec, {
    pems: {
      certs,
      kubernetesCA: "k8s-ca",
      frontProxyCA: "fp-ca",
      serviceAccount: { privateKeyPem: "sa-key", publicKeyPem: "sa-pub" },
    },
    encryption: { provider: "secretbox", name: "key1", secret: TEST_KEY },
    artifacts: { plan: planArtifacts(spec.inventory.artifacts, {}), localProblems },
  });
  return { ...testDesired(spec), k8s };
}

type Base = ReturnType<typeof statusBuilder>;
type Mut = { -readonly [K in keyof ClusterStatus]: ClusterStatus[K] };
type MutNode = Record<string, unknown> & {
  services: Record<string, { present: boolean; running: boolean; fingerprint?: string; pid?: number }>;
  files: Record<string, string>;
  artifacts?: Record<string, unknown>;
  health?: Record<string, boolean>;
  bootGateOpen?: boolean;
};

/**
 * A status builder for the Kubernetes rungs: the etcd builder's chain (etcd healthy on every
 * control-plane node by default) plus Kubernetes facts. Each method mutates and returns the builder.
 */
export function k8sStatusBuilder(spec: ClusterSpec, desired: Desired) {
  const k = desired.k8s!;
  const base: Base = statusBuilder(spec, desired).provisioned().etcd();
  const edits: ((s: Mut) => void)[] = [];
  const all = spec.nodes.map((n) => n.name);
  const node = (s: Mut, name: string) => (s.nodes as unknown as Record<string, MutNode>)[name]!;
  let kube: KubeStatus | undefined;
  // The container runtime is in place everywhere unless a case says otherwise (runtime()).
  edits.push((s) => {
    for (const n of all) {
      const rt = k.nodes[n]!.runtime;
      for (const f of rt.files) node(s, n).files[f.path] = f.sha256;
      node(s, n).services[rt.name] = { present: true, running: true, fingerprint: rt.fingerprint, pid: 100 };
    }
  });
  const b = {
    base,
    /** containerd on one node: its service state (undefined: never set up) and what its node lacks. */
    runtime(name: string, service: { running: boolean; fingerprint?: string } | undefined, lacking: string[] = []) {
      edits.push((s) => {
        const n = node(s, name);
        const rt = k.nodes[name]!.runtime;
        if (service) n.services[rt.name] = { present: true, ...service };
        else {
          delete n.services[rt.name];
          for (const f of rt.files) delete n.files[f.path];
        }
        if (lacking.length) n["prerequisites"] = { ok: true, missing: [], kubernetesMissing: lacking };
      });
      return b;
    },
    /** Every binary ok on these nodes. */
    artifacts(names: string[] = all) {
      edits.push((s) => {
        for (const n of names)
          node(s, n).artifacts = Object.fromEntries(k.nodes[n]!.artifacts.map((p) => [p.name, { state: "ok" }]));
      });
      return b;
    },
    /** One binary's verdict on one node. */
    artifact(name: string, binary: string, v: { state: "missing" } | { state: "mismatch"; actual: string }) {
      edits.push((s) => {
        node(s, name).artifacts = { ...node(s, name).artifacts, [binary]: v };
      });
      return b;
    },
    /** Every certificate and component file as desired on these nodes. */
    files(names: string[] = all) {
      edits.push((s) => {
        for (const n of names) {
          const d = k.nodes[n]!;
          for (const f of [...d.certs, ...d.components.flatMap((c) => c.files)]) node(s, n).files[f.path] = f.sha256;
        }
      });
      return b;
    },
    file(name: string, path: string, sha: string | undefined) {
      edits.push((s) => {
        if (sha === undefined) delete node(s, name).files[path];
        else node(s, name).files[path] = sha;
      });
      return b;
    },
    /** Components running with the desired fingerprint (default: all of each node's). */
    running(names: string[] = all, components?: string[]) {
      edits.push((s) => {
        for (const n of names)
          for (const c of k.nodes[n]!.components)
            if (!components || components.includes(c.name))
              node(s, n).services[c.name] = { present: true, running: true, fingerprint: c.fingerprint, pid: 200 };
      });
      return b;
    },
    stopped(name: string, component: string) {
      edits.push((s) => {
        node(s, name).services[component] = { ...node(s, name).services[component]!, running: false, pid: undefined };
      });
      return b;
    },
    fingerprint(name: string, component: string, fp: string | undefined) {
      edits.push((s) => {
        node(s, name).services[component] = { ...node(s, name).services[component]!, fingerprint: fp };
      });
      return b;
    },
    health(name: string, component: string, ok: boolean) {
      edits.push((s) => {
        node(s, name).health = { ...node(s, name).health, [component]: ok };
      });
      return b;
    },
    /** The boot gate on these nodes. */
    gate(open: boolean, names: string[] = all) {
      edits.push((s) => {
        for (const n of names) node(s, n).bootGateOpen = open;
      });
      return b;
    },
    /** The API as observed: ready with these registered nodes, or down with an error. */
    kube(ready: boolean, registered: string[] = [], error?: string) {
      const nodes: Record<string, KubeNode> = {};
      for (const n of registered)
        nodes[n] = { name: n, labels: {}, annotations: {}, taints: [], unschedulable: false, conditions: {} };
      kube = {
        ready,
        ...(error ? { error } : {}),
        defaultServiceAccount: ready,
        nodes,
        daemonSetPods: {},
        csiDrivers: {},
        objects: {},
      };
      return b;
    },
    unreachable(name: string) {
      base.unreachable(name);
      return b;
    },
    /** Binaries, files, running components, open gates and a ready API: nothing left for these rungs. */
    complete() {
      return b.artifacts().files().running().gate(true).kube(true, all);
    },
    build(): ClusterStatus {
      const s = base.build() as Mut;
      for (const e of edits) e(s);
      return { ...s, ...(kube ? { kube } : {}) };
    },
  };
  return b;
}
