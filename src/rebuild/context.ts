/**
 * Connections for rebuild steps and plans. Nodes leaving the inventory are still reached (to leave
 * etcd, to be released), so the SSH pool covers the inventory's nodes plus every existing node it
 * no longer lists; certificates are only ever issued for the inventory's own nodes.
 */
import type { ClusterSpec, NodeSpec } from "../cluster/spec.js";
import type { ClusterStatus } from "../cluster/status.js";
import { readStackNodes, withStackNodes } from "../infra/stack-outputs.js";
import { readState } from "../lab/index.js";
import { observe } from "../observe/index.js";
import type { OpContext } from "../ops/types.js";
import type { PassIO } from "../run/loop.js";
import type { Material } from "../run/material.js";
import { session, type SessionOptions } from "../run/session.js";
import { builtPath, existingNodes, readBuilt, type BuiltRecord, type StackNodeBuilt } from "./existing.js";
import type { ExistingNode } from "./types.js";

/** Where an apply or a plan runs. */
export interface RebuildEnv {
  /** The inventory's spec (without the stack join: an add is a node the stack lacks). */
  readonly spec: ClusterSpec;
  readonly session: SessionOptions;
  /** `--stack-outputs` / YAGURA_STACK_OUTPUTS. */
  readonly stackOutputs?: string;
  /** How the last apply built each node, as the state backend keeps it. @default the local rebuild-built.json */
  readonly built?: Readonly<Record<string, BuiltRecord>>;
}

/** The stack's nodes (none for static-only environments); throws StackOutputsError when unreadable. */
export function stackNodes(env: RebuildEnv): StackNodeBuilt[] {
  if (!env.spec.nodes.some((n) => n.managed) && !env.stackOutputs) return [];
  const outputsFile = env.stackOutputs ?? process.env.YAGURA_STACK_OUTPUTS;
  return readStackNodes(env.spec.env, { ...(outputsFile ? { outputsFile } : {}) });
}

/** Every node that exists now: the stack, the lab and the apply record joined. */
export function gatherExisting(env: RebuildEnv): ExistingNode[] {
  const paths = session(env.spec, env.session).paths;
  const lab = env.spec.inventory.lab ? readState(paths.labDir) : undefined;
  return existingNodes(env.built ?? readBuilt(builtPath(paths.dir)), lab, stackNodes(env));
}

/** The spec joined with the stack when it can be (server ids for the reconciler). */
export function joinedSpec(env: RebuildEnv): ClusterSpec {
  if (!env.spec.nodes.some((n) => n.managed)) return env.spec;
  return withStackNodes(env.spec, stackNodes(env));
}

/** The spec plus leaving nodes, as SSH targets (role worker: no certificates are issued for them). */
export function reachSpec(spec: ClusterSpec, existing: readonly ExistingNode[]): ClusterSpec {
  const extra: NodeSpec[] = existing
    .filter((e) => !spec.nodes.some((n) => n.name === e.name))
    .map((e) => ({
      name: e.name,
      pool: "static",
      role: "worker",
      kind: e.lab ? "lab" : "vm",
      address: e.address,
      labels: {},
      taints: [],
      rebuildToken: "",
      managed: e.managed,
      index: 0,
    }));
  return { ...spec, nodes: [...spec.nodes, ...extra] };
}

/** Runs `fn` with one pass's connections (inventory nodes plus leaving ones), then closes them. */
export async function withPass<T>(
  env: RebuildEnv,
  existing: readonly ExistingNode[],
  fn: (ctx: OpContext, io: PassIO, m: Material) => Promise<T>,
): Promise<T> {
  const m = await session(env.spec, env.session).prepare(new Date());
  const io = session(reachSpec(env.spec, existing), env.session).open(m);
  const ctx: OpContext = {
    shell: io.shell,
    etcdAdmin: (e) => io.etcdAdmin(e),
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    now: () => new Date(),
    ...(io.kube ? { kube: io.kube } : {}),
  };
  try {
    return await fn(ctx, io, m);
  } finally {
    await io.close().catch(() => undefined);
  }
}

/** Observes the inventory's nodes and etcd (and the API when the pass has one). */
export function observeCluster(env: RebuildEnv, existing: readonly ExistingNode[]): Promise<ClusterStatus> {
  return withPass(env, existing, (_ctx, io, m) => observe(env.spec, m.desired, io));
}
