/**
 * The Kubernetes API as the reconciler uses it: a small interface with one real implementation
 * (src/infra/kube.ts, over @kubernetes/client-node) and in-memory fakes for unit tests of pure
 * logic. Every write is a server-side apply or a targeted patch with field manager `yagura`.
 */
import type { Taint } from "../inventory/schema.js";

/** Field manager of every write yagura makes. */
export const FIELD_MANAGER = "yagura";

/** Names one object. `namespace` is absent for cluster-scoped kinds. */
export interface KubeObjectRef {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string;
}

/** Any object, as JSON. */
export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly annotations?: Readonly<Record<string, string>>;
    readonly [k: string]: unknown;
  };
  /** Names live in metadata: a top-level one is an error the API reports only as HTTP 500. */
  readonly name?: never;
  readonly namespace?: never;
  readonly [k: string]: unknown;
}

/** A Node as the ladder needs it. */
export interface KubeNode {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly taints: readonly Taint[];
  readonly unschedulable: boolean;
  /** Node conditions by type (Ready, NetworkUnavailable …) → "True" | "False" | "Unknown". */
  readonly conditions: Readonly<Record<string, string>>;
  readonly providerID?: string;
  /** spec.podCIDR: the pod range the controller manager allocated to the node (absent until then). */
  readonly podCIDR?: string;
  /** metadata.resourceVersion when read, so a read-modify-write (taints) can be guarded. */
  readonly resourceVersion?: string;
}

/** A Pod as the ladder needs it (readiness, placement, owner). */
export interface KubePod {
  readonly namespace: string;
  readonly name: string;
  readonly nodeName?: string;
  readonly ready: boolean;
  readonly phase: string;
  readonly labels: Readonly<Record<string, string>>;
  /** The controlling owner (DaemonSet, ReplicaSet …), when there is one. */
  readonly owner?: { readonly kind: string; readonly name: string };
}

/** Outcome of one eviction (drain). */
export type EvictionResult = "evicted" | "gone" | { readonly blocked: string };

/** A failed API call: HTTP status and Kubernetes reason when the server answered. */
export class KubeApiError extends Error {
  override readonly name = "KubeApiError";
  constructor(
    message: string,
    readonly status?: number,
    readonly reason?: string,
  ) {
    super(message);
  }
}

/** The API calls yagura makes. Each has a timeout and throws KubeApiError. */
export interface KubeApi {
  /** GET /readyz (verbose body on failure). */
  readyz(): Promise<{ readonly ok: boolean; readonly body: string }>;
  /** The object, or undefined when it does not exist (404). */
  get(ref: KubeObjectRef): Promise<KubeObject | undefined>;
  /** Objects of a kind, optionally in one namespace and by label selector. */
  list(
    apiVersion: string,
    kind: string,
    o?: { readonly namespace?: string; readonly labelSelector?: string },
  ): Promise<KubeObject[]>;
  /** Server-side apply with field manager `yagura`; `force` takes over conflicting fields. */
  apply(obj: KubeObject, o?: { readonly force?: boolean }): Promise<KubeObject>;
  /** Deletes; a missing object is not an error. */
  delete(ref: KubeObjectRef): Promise<void>;
  listNodes(): Promise<KubeNode[]>;
  /** Replaces a node's taints (read-modify-write guarded by resourceVersion). */
  setNodeTaints(node: string, taints: readonly Taint[], resourceVersion?: string): Promise<void>;
  /** Sets spec.unschedulable. */
  cordon(node: string, unschedulable: boolean): Promise<void>;
  /** Pods, optionally in one namespace, by label or field selector. */
  listPods(o?: {
    readonly namespace?: string;
    readonly labelSelector?: string;
    readonly fieldSelector?: string;
  }): Promise<KubePod[]>;
  /** Evicts a pod through the Eviction API (PodDisruptionBudgets apply). */
  evict(namespace: string, name: string): Promise<EvictionResult>;
  close(): Promise<void>;
}

/** Where and how to reach an API server (the admin client certificate yagura issued). */
export interface KubeEndpoint {
  /** https://host:port */
  readonly server: string;
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
}
