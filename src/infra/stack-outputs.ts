/**
 * The stack's `nodes` output as a node source. The reconciler never creates servers: for nodes an
 * OpenStack pool owns, it works only on what `cdktf deploy <env>` created, and takes each server's
 * id from there (kubelet's providerID needs it). Static nodes need no stack.
 *
 * Where the output comes from, first match wins:
 *   1. an outputs file named by the user (`--stack-outputs FILE` or YAGURA_STACK_OUTPUTS): the JSON of
 *      `terraform output -json` ({nodes: {value: [...]}}) or of `cdktf output <env> --outputs-file`
 *      ({<env>: {nodes: [...]}}) — for remote backends;
 *   2. the local Terraform state the synthesized stack declares: `<project>/terraform.<env>.tfstate`.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import type { ClusterSpec, NodeSpec } from "../cluster/spec.js";

/** The project directory (where cdktf.json is and where the local backend keeps state). */
export const PROJECT_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** One entry of the stack's `nodes` output (the contract in stacks/README.md). */
export const stackNodeSchema = z.object({
  name: z.string(),
  pool: z.string(),
  role: z.enum(["control-plane", "worker"]),
  kind: z.enum(["vm", "baremetal"]),
  serverId: z.string().min(1),
  address: z.string(),
  /** What the server was built with, for rebuild plans (absent in outputs of older stacks). */
  rebuildToken: z.string().optional(),
  image: z.string().optional(),
  flavor: z.string().optional(),
});

/** A server the stack created. */
export type StackNode = z.infer<typeof stackNodeSchema>;

/** A problem with the stack outputs the user can fix; `details` are extra lines to print. */
export class StackOutputsError extends Error {
  override readonly name = "StackOutputsError";
  constructor(
    message: string,
    readonly details: readonly string[] = [],
  ) {
    super(message);
  }
}

/** Where the local backend of the environment's stack keeps its state. */
export function localStatePath(env: string, projectDir = PROJECT_DIR): string {
  return join(projectDir, `terraform.${env}.tfstate`);
}

/** Reads the `nodes` output of the environment's stack; throws StackOutputsError saying what to do. */
export function readStackNodes(env: string, opts: { outputsFile?: string; projectDir?: string } = {}): StackNode[] {
  const file = opts.outputsFile ?? localStatePath(env, opts.projectDir);
  if (!existsSync(file)) {
    throw new StackOutputsError(
      opts.outputsFile
        ? `stack outputs file ${file} does not exist`
        : `the stack of ${env} has not been deployed: no Terraform state at ${file}`,
      [
        `  run \`cdktf deploy ${env}\` first, or, with a remote backend, write the outputs with`,
        `  \`cdktf output ${env} --outputs-file outputs.json\` and pass --stack-outputs outputs.json`,
      ],
    );
  }
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new StackOutputsError(`${file} is not JSON: ${(err as Error).message}`);
  }
  const raw = pickNodes(doc, env);
  if (raw === undefined) {
    throw new StackOutputsError(`${file} has no "nodes" output for ${env}`, [
      `  the stack may predate this output or the deploy may not have finished: run \`cdktf deploy ${env}\``,
    ]);
  }
  const parsed = z.array(stackNodeSchema).safeParse(raw);
  if (!parsed.success) {
    throw new StackOutputsError(
      `${file}: the "nodes" output does not match the contract in stacks/README.md`,
      parsed.error.issues.map(
        (i) => `  nodes${i.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${p}`)).join("")}: ${i.message}`,
      ),
    );
  }
  return parsed.data;
}

/** Finds the nodes value in a tfstate, a `terraform output -json` or a cdktf outputs file. */
function pickNodes(doc: unknown, env: string): unknown {
  const v = pickOutput(doc, env, "nodes");
  return Array.isArray(v) ? v : undefined;
}

/** Finds one output's value in any of the three layouts. */
function pickOutput(doc: unknown, env: string, name: string): unknown {
  const o = doc as Record<string, unknown> | null;
  if (!o || typeof o !== "object") return undefined;
  const outputs = (o.outputs ?? o) as Record<string, unknown>; // tfstate keeps them under "outputs"
  const out = outputs[name] as { value?: unknown } | undefined;
  if (Array.isArray(out)) return out;
  if (out && typeof out === "object" && "value" in out) return out.value;
  const perStack = o[env] as Record<string, unknown> | undefined; // cdktf --outputs-file groups by stack
  if (perStack && typeof perStack === "object" && name in perStack) return perStack[name];
  return undefined;
}

const apiEndpointSchema = z.object({ type: z.string(), address: z.string().min(1), port: z.number().optional() });

/**
 * The API load balancer's address from the stack's `api_endpoint` output, or undefined when the
 * stack has none or its endpoint is not a load balancer (`local-proxy` names a node, which the
 * reconciler derives itself). Read after readStackNodes, which reports a missing or broken file.
 */
export function readStackApiEndpoint(
  env: string,
  opts: { outputsFile?: string; projectDir?: string } = {},
): string | undefined {
  const file = opts.outputsFile ?? localStatePath(env, opts.projectDir);
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, "utf8"));
  } catch {
    return undefined;
  }
  const parsed = apiEndpointSchema.safeParse(pickOutput(doc, env, "api_endpoint"));
  return parsed.success && parsed.data.type === "loadbalancer" ? parsed.data.address : undefined;
}

/**
 * Joins the spec with what the stack created: pool nodes get their server ids. A pool node the stack
 * has not created, or one whose address or role differs, means the stack is behind the inventory.
 */
export function withStackNodes(spec: ClusterSpec, created: readonly StackNode[]): ClusterSpec {
  const byName = new Map(created.map((n) => [n.name, n]));
  const problems: string[] = [];
  const nodes: NodeSpec[] = spec.nodes.map((n) => {
    if (!n.managed) return n;
    const s = byName.get(n.name);
    if (!s) {
      problems.push(`  ${n.name}: in the inventory (pool ${n.pool}) but not created by the stack`);
      return n;
    }
    if (s.address !== n.address || s.role !== n.role || s.kind !== n.kind) {
      problems.push(
        `  ${n.name}: the stack has ${s.role} ${s.kind} at ${s.address}, the inventory wants ${n.role} ${n.kind} at ${n.address}`,
      );
    }
    return { ...n, serverId: s.serverId };
  });
  if (problems.length) {
    throw new StackOutputsError(
      `the stack of ${spec.env} is behind its inventory: run \`cdktf deploy ${spec.env}\``,
      problems,
    );
  }
  return { ...spec, nodes };
}
