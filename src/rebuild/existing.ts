/**
 * What exists, for the planner: the stack's `nodes` output (servers and how they were built), the
 * lab's record of its nodes, and yagura's record of how each node was last built by an apply
 * (`<state>/<env>/rebuild-built.json`, or a document of the etcd state backend; written at the end
 * of every apply, fenced by the lock).
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ClusterSpec } from "../cluster/spec.js";
import type { NodeRole } from "../inventory/schema.js";
import type { StackNode } from "../infra/stack-outputs.js";
import type { LabState } from "../lab/index.js";
import { wantedBuild } from "./changes.js";
import type { BuiltWith, ExistingNode } from "./types.js";

/** One node as an apply left it. */
export interface BuiltRecord {
  readonly address: string;
  readonly role: NodeRole;
  readonly managed: boolean;
  readonly lab: boolean;
  readonly built: BuiltWith;
}

/** The record's name as a state backend document (locally the file `<state>/<env>/rebuild-built.json`). */
export const BUILT_DOC = "rebuild-built.json";

/** The record file of an environment dir. */
export function builtPath(envDir: string): string {
  return join(envDir, BUILT_DOC);
}

/** Parses the record's text; empty when no apply has finished yet (undefined). */
export function parseBuilt(text: string | undefined): Record<string, BuiltRecord> {
  return text === undefined ? {} : (JSON.parse(text) as { nodes: Record<string, BuiltRecord> }).nodes;
}

/** Reads the record file; empty when no apply has finished yet. */
export function readBuilt(path: string): Record<string, BuiltRecord> {
  return parseBuilt(existsSync(path) ? readFileSync(path, "utf8") : undefined);
}

/** The record's text: every node of `spec` as built from it. */
export function builtText(spec: ClusterSpec): string {
  const nodes = Object.fromEntries(
    spec.nodes.map((n) => [
      n.name,
      { address: n.address, role: n.role, managed: n.managed, lab: n.kind === "lab", built: wantedBuild(spec, n) },
    ]),
  );
  return JSON.stringify({ version: 1, nodes }, null, 2) + "\n";
}

/** Records every node of `spec` as built from it (atomically; `check` fences a stale holder off). */
export function writeBuilt(path: string, spec: ClusterSpec, check: () => void): void {
  const text = builtText(spec);
  check();
  writeFileSync(path + ".tmp", text, { mode: 0o600 });
  renameSync(path + ".tmp", path);
}

/** A stack output entry, with the build facts newer stacks output (absent in older ones). */
export type StackNodeBuilt = StackNode & { rebuildToken?: string; image?: string; flavor?: string };

/** Joins the three sources by node name; the stack is the authority on managed servers. */
export function existingNodes(
  record: Readonly<Record<string, BuiltRecord>>,
  lab: LabState | undefined,
  stack: readonly StackNodeBuilt[],
): ExistingNode[] {
  const out = new Map<string, ExistingNode>();
  for (const [name, r] of Object.entries(record)) {
    out.set(name, {
      name,
      address: r.address,
      role: r.role,
      managed: r.managed,
      lab: r.lab,
      built: r.built,
      inStack: false,
    });
  }
  for (const n of Object.values(lab?.nodes ?? {})) {
    const prev = out.get(n.name);
    out.set(n.name, { ...(prev ?? { managed: false, inStack: false }), name: n.name, address: n.address, lab: true });
  }
  for (const s of stack) {
    const prev = out.get(s.name);
    const built =
      s.rebuildToken !== undefined
        ? {
            rebuildToken: s.rebuildToken,
            ...(s.image ? { image: s.image } : {}),
            ...(s.flavor ? { flavor: s.flavor } : {}),
          }
        : prev?.built;
    out.set(s.name, {
      name: s.name,
      address: s.address,
      role: s.role,
      managed: true,
      lab: false,
      inStack: true,
      ...(built ? { built } : {}),
    });
  }
  return [...out.values()];
}
