/**
 * k8s-files: puts a node's Kubernetes certificates, keys and component files in place (keys and
 * kubeconfigs 0600, atomic, only what differs). Components whose files were edited on the node
 * first lose their fingerprint: the running process may have read the edit, so the restart rung
 * restarts it from the repaired files.
 */
import type { ManagedFile } from "../../supervisor/types.js";
import { scriptCommand, writeFilesCommand } from "../node/commands.js";
import { sequenceOp, type Command, type Op } from "../types.js";
import { forgetFingerprintsScript } from "./service.js";

/** The files of one node, and the components to restart because their files drifted. */
export interface FilesTarget {
  readonly node: string;
  readonly files: readonly ManagedFile[];
  readonly forget: readonly string[];
}

/** Writes the files that differ on each node (`name`: k8s-control-plane-files or k8s-node-files). */
export function k8sFilesOp(name: string, targets: readonly FilesTarget[]): Op {
  const cmds: Command[] = [];
  for (const t of targets) {
    if (t.forget.length) cmds.push(scriptCommand("forget-fingerprints", t.node, forgetFingerprintsScript(t.forget)));
    cmds.push(writeFilesCommand("write-k8s-files", t.node, t.files));
  }
  return sequenceOp(
    name,
    targets.map((t) => t.node),
    cmds,
  );
}
