/**
 * The op contract (CKE's operation.go): an op is a small step machine with a name and targets;
 * `nextCommand()` hands out its commands one at a time and returns undefined when done. A command
 * describes itself and runs against the injected context, so decide() stays pure.
 */
import type { KubeApi } from "../infra/kube-types.js";
import type { EtcdAdmin, EtcdTls, NodeShell } from "../infra/types.js";

/** The infrastructure a command runs against. */
export interface OpContext {
  readonly shell: NodeShell;
  /** Opens an admin client on these client URLs; the caller closes it. */
  etcdAdmin(endpoints: readonly string[]): EtcdAdmin;
  /** Waits; injected so tests do not sleep. */
  sleep(ms: number): Promise<void>;
  /** Wall clock for deadlines inside a command. */
  now(): Date;
  /** The Kubernetes API with yagura's admin identity; absent until there is an API to reach. */
  readonly kube?: KubeApi;
  /** yagura's etcd admin client TLS material of this pass (the same the etcdAdmin clients use). */
  readonly etcdTls?: EtcdTls;
}

/** One step of an op: describes itself (name, target) and runs. */
export interface Command {
  readonly name: string;
  /** A node name, or "etcd" / "local" for cluster- and operator-side steps. */
  readonly target: string;
  run(ctx: OpContext): Promise<void>;
}

/** An operation: a named sequence of commands on some targets. */
export interface Op {
  readonly name: string;
  readonly targets: readonly string[];
  nextCommand(): Command | undefined;
}

/** An op that runs a fixed list of commands in order. */
export function sequenceOp(name: string, targets: readonly string[], commands: readonly Command[]): Op {
  let i = 0;
  return {
    name,
    targets,
    nextCommand: () => commands[i++],
  };
}

/** A command built from a name, a target and a function. */
export function command(name: string, target: string, run: (ctx: OpContext) => Promise<void>): Command {
  return { name, target, run };
}

/** A command that runs the same step on several nodes at once; fails if any node fails. */
export function parallelCommand(
  name: string,
  nodes: readonly string[],
  run: (ctx: OpContext, node: string) => Promise<void>,
): Command {
  return command(name, nodes.join(","), async (ctx) => {
    const results = await Promise.allSettled(nodes.map((n) => run(ctx, n)));
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed.length) throw failed[0]!.reason;
  });
}
