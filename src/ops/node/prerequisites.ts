/**
 * What a node must already have before yagura can manage it, and what to install when it does
 * not. yagura does not install packages itself: a missing prerequisite stops the ladder with a
 * message that names it.
 */
import type { NodeSpec } from "../../cluster/spec.js";
import { NODE_PATHS } from "../../cluster/paths.js";
import { supervisorFor } from "../../supervisor/index.js";
import { ETCD } from "../etcd/layout.js";

/** One prerequisite: an executable file, a command on PATH, or a directory. */
export interface Prerequisite {
  readonly kind: "file" | "command" | "dir";
  readonly path: string;
  /** What to install when it is missing. */
  readonly hint: string;
  /** Needed only by the Kubernetes rungs (the runtime, the pod network): its absence never holds back etcd. */
  readonly kubernetes?: boolean;
}

/** Prerequisites of a node, by role and supervisor. */
export function prerequisitesFor(node: Pick<NodeSpec, "kind" | "role">): Prerequisite[] {
  const sup = supervisorFor(node);
  const out: Prerequisite[] = [
    { kind: "command", path: "sha256sum", hint: "coreutils" },
    ...sup.prerequisites.map((c): Prerequisite => ({
      kind: "command",
      path: c,
      hint: sup.kind === "runit" ? "runit" : "systemd",
    })),
  ];
  if (sup.kind === "runit")
    out.push({ kind: "dir", path: NODE_PATHS.runitServiceDir, hint: "runsvdir scanning /etc/service" });
  if (node.role === "control-plane")
    out.push({ kind: "file", path: ETCD.binary, hint: "etcd-server (etcd 3.4 or later)" });
  return out;
}

/** Describes a missing prerequisite for an operator. */
export function describeMissing(p: Prerequisite): string {
  return `${p.path} (${p.hint})`;
}
