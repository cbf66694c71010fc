/**
 * What every component renderer reads: the node, the parsed version, the cluster section and the
 * few facts that come from outside the inventory (stack outputs, keys). Built once per node.
 */
import { posix } from "node:path";
import { NODE_PATHS } from "../../cluster/paths.js";
import type { ClusterSpec, NodeSpec } from "../../cluster/spec.js";
import { controlPlane } from "../../cluster/spec.js";
import type { Inventory } from "../../inventory/schema.js";
import type { ManagedFile, ServiceDef } from "../../supervisor/types.js";
import type { Component } from "../artifacts.js";
import { kubeVersion, type KubeVersion } from "../version.js";

/** The key that encrypts Secrets at rest; the caller loads it from the state, never the inventory. */
export interface EncryptionKey {
  readonly provider: "secretbox" | "aescbc";
  /** Key name recorded in each stored object (rotate by adding a new name). */
  readonly name: string;
  /** Base64 of 32 random bytes. */
  readonly secret: string;
}

/** Audit logging for the apiserver; off unless given. */
export interface AuditOptions {
  readonly logPath: string;
  /** @default 30 */
  readonly maxAgeDays?: number;
  /** @default 10 */
  readonly maxBackups?: number;
  /** @default 100 */
  readonly maxSizeMB?: number;
}

/** Everything needed to render one node's Kubernetes components. */
export interface RenderInput {
  readonly spec: ClusterSpec;
  readonly node: NodeSpec;
  readonly encryption: EncryptionKey;
  /** Nova server id, from the stack outputs; sets the kubelet's providerID on OpenStack nodes. */
  readonly serverId?: string;
  /**
   * URL kubelets and kube-proxy use to reach the API (a load balancer or a node-local proxy).
   * @default https://<first control-plane address>:6443
   */
  readonly apiServerUrl?: string;
  readonly audit?: AuditOptions;
  /** @default spec.inventory.cluster.kubernetesVersion */
  readonly version?: string;
}

/** The resolved input every renderer reads. */
export interface RenderContext {
  readonly spec: ClusterSpec;
  readonly node: NodeSpec;
  readonly cluster: Inventory["cluster"];
  readonly v: KubeVersion;
  readonly encryption: EncryptionKey;
  readonly serverId?: string;
  readonly apiServerUrl: string;
  readonly audit?: AuditOptions;
  /** The binary of a component on the node. */
  readonly bin: (c: Component) => string;
  /** True for Nova VMs and Ironic bare metal: the OpenStack cloud provider manages them. */
  readonly onOpenStack: boolean;
}

/** One component's rendering: its service definition and the files it reads. */
export interface ComponentRendering {
  readonly service: ServiceDef;
  readonly files: readonly ManagedFile[];
}

/** Port the apiserver listens on. */
export const APISERVER_PORT = 6443;

/** Resolves the input: parses the version once (throwing on an unsupported one) and fills defaults. */
export function renderContext(input: RenderInput): RenderContext {
  const { spec, node } = input;
  const v = kubeVersion(input.version ?? spec.inventory.cluster.kubernetesVersion);
  const first = controlPlane(spec)[0];
  if (input.apiServerUrl === undefined && !first)
    throw new Error("the inventory has no control-plane node, so there is no API server to point at");
  const installDir = spec.inventory.artifacts.installDir;
  return {
    spec,
    node,
    cluster: spec.inventory.cluster,
    v,
    encryption: input.encryption,
    serverId: input.serverId,
    apiServerUrl: input.apiServerUrl ?? `https://${first!.address}:${APISERVER_PORT}`,
    audit: input.audit,
    bin: (c) => posix.join(installDir, c),
    onOpenStack: node.kind !== "lab",
  };
}

/** A service definition for a Kubernetes component (no bootstrap environment, unlike etcd). */
export function componentService(ctx: RenderContext, name: Component, argv: readonly string[]): ServiceDef {
  return {
    name,
    description: `${name} ${ctx.v.text} on ${ctx.node.name}`,
    argv: [ctx.bin(name), ...argv],
    environmentFile: posix.join(NODE_PATHS.yaguraDir, name, "env"),
  };
}
