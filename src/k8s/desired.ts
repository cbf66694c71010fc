/**
 * What the Kubernetes components should look like on each node: certificate and key files, the
 * rendered components (service files, config files, fingerprints) and the binaries the node
 * needs. Built once per pass from the spec and the issued PEMs (pure), then read by observe
 * (paths), decide (hashes, fingerprints) and the ops (contents).
 */
import type { ClusterSpec, NodeSpec } from "../cluster/spec.js";
import { controlPlane } from "../cluster/spec.js";
import type { IssuedCert } from "../pki/index.js";
import { sha256 } from "../supervisor/fingerprint.js";
import { supervisorFor } from "../supervisor/index.js";
import type { ManagedFile, Supervisor } from "../supervisor/types.js";
import type { ArtifactPlan, ArtifactPlanResult, Component } from "./artifacts.js";
import { K8S_CERT } from "./certs.js";
import { certPaths, K8S } from "./layout.js";
import { APISERVER_PORT } from "./render/context.js";
import { LOCAL_APISERVER } from "./render/controlplane.js";
import { renderNode, type EncryptionKey, type RenderedComponent, type RenderedFile } from "./render/index.js";
import { renderContainerd, runtimePrerequisites, type RenderedRuntime } from "../runtime/containerd.js";
import type { Prerequisite } from "../ops/node/prerequisites.js";
import { BRIDGE_CONFLIST } from "../network/bridge.js";

/** The control-plane components, in the order they start. */
export const CONTROL_PLANE_COMPONENTS = ["kube-apiserver", "kube-controller-manager", "kube-scheduler"] as const;
/** The components every node runs, in the order they start. */
export const NODE_COMPONENTS = ["kubelet", "kube-proxy"] as const;

/** The Kubernetes side of one node. */
export interface K8sNodeDesired {
  readonly node: NodeSpec;
  readonly supervisor: Supervisor;
  /** CA certificates, the node's certificates and keys (keys 0600, secret). */
  readonly certs: readonly RenderedFile[];
  /** What the node must have installed for its runtime and pod network (beyond the etcd rungs' needs). */
  readonly prerequisites: readonly Prerequisite[];
  /** The node runs the `bridge` pod network (network/bridge.ts): observe its conflist and routes. */
  readonly bridgeNetwork: boolean;
  /** The container runtime (containerd), which the runtime rung keeps running before any kubelet. */
  readonly runtime: RenderedRuntime;
  /** Every component the node runs, control plane first. */
  readonly components: readonly RenderedComponent[];
  /** The binaries those components run. */
  readonly artifacts: readonly ArtifactPlan[];
}

/** Where the binaries come from, and what is already known to be wrong with them. */
export interface K8sArtifacts {
  /** Plans for every binary, or the inventory problems that prevent planning. */
  readonly plan: ArtifactPlanResult;
  /**
   * For `source: local`: binaries whose local file is missing or has another sha256, by name,
   * with the message saying so (the nodes cannot get them, so the rung stops instead of copying).
   */
  readonly localProblems: Readonly<Partial<Record<Component, string>>>;
}

/** The Kubernetes part of the desired state. */
export interface K8sDesired {
  /** The URL yagura and the admin kubeconfig use: the load balancer, else the first control-plane node. */
  readonly apiServerUrl: string;
  readonly artifacts: K8sArtifacts;
  readonly nodes: Readonly<Record<string, K8sNodeDesired>>;
}

/** The PEMs and keys the builder needs (all issued or loaded beforehand). */
export interface K8sPems {
  /** By certificate name (`K8S_CERT` stems). */
  readonly certs: Readonly<Record<string, IssuedCert>>;
  readonly kubernetesCA: string;
  readonly frontProxyCA: string;
  readonly serviceAccount: { readonly privateKeyPem: string; readonly publicKeyPem: string };
}

/** Inputs of buildK8sDesired. */
export interface K8sDesiredInput {
  readonly pems: K8sPems;
  readonly encryption: EncryptionKey;
  readonly artifacts: K8sArtifacts;
  /** Load balancer address (IP or DNS name) when there is one. */
  readonly apiEndpoint?: string;
}

/** The API URL for a node's kubelet and kube-proxy. */
export function apiServerUrlFor(spec: ClusterSpec, node: NodeSpec, apiEndpoint?: string): string {
  if (apiEndpoint !== undefined) return `https://${apiEndpoint}:${APISERVER_PORT}`;
  // A control-plane node reaches its own apiserver on loopback (in its serving certificate), so
  // it keeps working while another control-plane node is down.
  if (node.role === "control-plane") return LOCAL_APISERVER;
  return externalApiUrl(spec);
}

const withHash = (f: ManagedFile): RenderedFile => ({ ...f, sha256: sha256(f.content) });

function pair(pems: K8sPems, stem: string, node: string): ManagedFile[] {
  const c = pems.certs[stem];
  if (!c) throw new Error(`certificate ${stem} for ${node} was not prepared (a bug in yagura)`);
  const p = certPaths(stem);
  return [
    { path: p.cert, content: c.certPem, mode: 0o644 },
    { path: p.key, content: c.keyPem, mode: 0o600, secret: true },
  ];
}

/** The certificate and key files one node needs. */
export function k8sCertFiles(spec: ClusterSpec, node: NodeSpec, pems: K8sPems): RenderedFile[] {
  const files: ManagedFile[] = [{ path: K8S.caCert, content: pems.kubernetesCA, mode: 0o644 }];
  if (node.role === "control-plane") {
    files.push(
      { path: K8S.frontProxyCA, content: pems.frontProxyCA, mode: 0o644 },
      { path: K8S.saKey, content: pems.serviceAccount.privateKeyPem, mode: 0o600, secret: true },
      { path: K8S.saPub, content: pems.serviceAccount.publicKeyPem, mode: 0o644 },
    );
    // The etcd client CA is written by the etcd rung at the same path (K8S.etcdCA).
    const stems = [
      K8S_CERT.apiserver(node.name),
      K8S_CERT.apiserverEtcdClient,
      K8S_CERT.apiserverKubeletClient,
      K8S_CERT.frontProxyClient,
      K8S_CERT.controllerManager,
      K8S_CERT.scheduler,
    ];
    if (spec.inventory.keystone?.auth.enabled) stems.push(K8S_CERT.keystoneAuth);
    for (const s of stems) files.push(...pair(pems, s, node.name));
  }
  for (const s of [K8S_CERT.kubeProxy, K8S_CERT.kubeletClient(node.name), K8S_CERT.kubeletServer(node.name)])
    files.push(...pair(pems, s, node.name));
  return files.map(withHash);
}

/** Builds the Kubernetes desired state of every node (pure). */
export function buildK8sDesired(spec: ClusterSpec, input: K8sDesiredInput): K8sDesired {
  const plans = input.artifacts.plan.ok ? input.artifacts.plan.plans : [];
  const nodes: Record<string, K8sNodeDesired> = {};
  for (const node of spec.nodes) {
    const components = renderNode({
      spec,
      node,
      encryption: input.encryption,
      apiServerUrl: apiServerUrlFor(spec, node, input.apiEndpoint),
      ...(node.serverId !== undefined ? { serverId: node.serverId } : {}),
    });
    const names = new Set<string>(components.map((c) => c.name));
    nodes[node.name] = {
      node,
      supervisor: supervisorFor(node),
      certs: k8sCertFiles(spec, node, input.pems),
      prerequisites: runtimePrerequisites(spec),
      bridgeNetwork: spec.inventory.networking.cni === "bridge",
      runtime: renderContainerd(spec, node),
      components,
      artifacts: plans.filter((p) => names.has(p.name)),
    };
  }
  return { apiServerUrl: externalApiUrl(spec, input.apiEndpoint), artifacts: input.artifacts, nodes };
}

/** The URL from outside the cluster (yagura, the admin kubeconfig): the load balancer, else the first control-plane node. */
export function externalApiUrl(spec: ClusterSpec, apiEndpoint?: string): string {
  if (apiEndpoint !== undefined) return `https://${apiEndpoint}:${APISERVER_PORT}`;
  const first = controlPlane(spec)[0];
  if (!first) throw new Error("the inventory has no control-plane node, so there is no API server to point at");
  return `https://${first.address}:${APISERVER_PORT}`;
}

/** Every Kubernetes path observe should hash on a node: certificates, then each component's files. */
export function k8sObservedPaths(k8s: K8sDesired | undefined, node: string): string[] {
  const d = k8s?.nodes[node];
  if (!d) return [];
  return [
    ...d.certs.map((f) => f.path),
    ...d.runtime.files.map((f) => f.path),
    ...(d.bridgeNetwork ? [BRIDGE_CONFLIST] : []),
    ...d.components.flatMap((c) => c.files.map((f) => f.path)),
  ];
}

/** The rendered component `name` of a node, if the node runs it. */
export function componentOf(d: K8sNodeDesired, name: Component): RenderedComponent | undefined {
  return d.components.find((c) => c.name === name);
}
