/**
 * etcd-certs and etcd-files: put the member's certificates (keys 0600, atomic) and the service
 * definition on the nodes. A service file that drifted (edited on the node) also loses its
 * fingerprint, because the running process may have been started from the edit: the restart
 * rung then restarts it from the repaired file.
 */
import { shq } from "../../infra/shell.js";
import { fingerprintPath } from "../../supervisor/fingerprint.js";
import { writeFilesCommand } from "../node/commands.js";
import { command, sequenceOp, type Command, type Op } from "../types.js";
import type { EtcdNodeDesired } from "./desired.js";
import { ETCD } from "./layout.js";

/** Uploads the etcd certificates and keys that differ on each target node. */
export function etcdCertsOp(targets: readonly EtcdNodeDesired[]): Op {
  return sequenceOp(
    "etcd-certs",
    targets.map((t) => t.node.name),
    targets.map((t) => writeFilesCommand("write-etcd-certs", t.node.name, t.certs)),
  );
}

/** Uploads the etcd service files that differ; `drifted` nodes also lose their fingerprint. */
export function etcdFilesOp(targets: readonly EtcdNodeDesired[], drifted: ReadonlySet<string>): Op {
  const cmds: Command[] = [];
  for (const t of targets) {
    const node = t.node.name;
    if (drifted.has(node)) {
      cmds.push(
        command("forget-etcd-fingerprint", node, async (ctx) => {
          await ctx.shell.run(node, `rm -f ${shq(fingerprintPath(ETCD.component))}`);
        }),
      );
    }
    cmds.push(writeFilesCommand("write-etcd-service", node, t.files));
  }
  return sequenceOp(
    "etcd-files",
    targets.map((t) => t.node.name),
    cmds,
  );
}
