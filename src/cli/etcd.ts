/**
 * `yagura etcd snapshot | snapshots | restore ENV`: thin commands over src/backup. Exit codes as
 * in errors.ts: 1 a bad snapshot or flag, 3 a failed step, 4 refused (healthy cluster without
 * --yes, or another reconciler holds the lock).
 */
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import type { Command } from "commander";
import type { ClusterSpec } from "../cluster/spec.js";
import { controlPlane } from "../cluster/spec.js";
import { labContext, readState } from "../lab/index.js";
import { routedViaBridge } from "../lab/ssh.js";
import { clientURL } from "../ops/etcd/layout.js";
import { acquireLock } from "../run/lock.js";
import { applyRetention, backupDir, localSnapshotStore, utcStamp, type SnapshotMeta } from "../backup/store.js";
import { OperationFailedError, RefusedError, UserError } from "./errors.js";
import { requireClusterSpec } from "./inventory.js";

const say = (line: string) => console.log(line);
const mib = (n: number) => `${(n / 1048576).toFixed(2)} MiB`;

/** Lab nodes are reached only through the lab's bridge: a stale address must not leave the machine. */
async function checkLabRoutes(spec: ClusterSpec): Promise<void> {
  const lab = spec.nodes.filter((n) => n.kind === "lab");
  if (lab.length === 0) return;
  const bridge = readState(labContext(spec.env).labDir)?.bridge?.name;
  if (!bridge) throw new UserError(`lab ${spec.env} is not up (yagura lab up ${spec.env})`);
  for (const n of lab) {
    if (!(await routedViaBridge(n.address, bridge)))
      throw new UserError(
        `lab ${spec.env}: ${n.address} is not reached through bridge ${bridge}; run yagura lab up ${spec.env}`,
      );
  }
}

/** Adds the `etcd` command group. */
export function registerEtcdCommands(program: Command): void {
  const spec = (env: string) =>
    requireClusterSpec(env, { inventoryDir: program.opts().inventoryDir, stackOutputs: program.opts().stackOutputs });
  const etcd = program.command("etcd").description("etcd snapshots and restore");

  etcd
    .command("snapshot")
    .description(
      "take a verified snapshot now from a healthy, in-sync member; keep the newest reconciler.backup.retention",
    )
    .argument("<env>", "environment name or inventory file")
    .addHelpText(
      "after",
      "\nExamples:\n  yagura etcd snapshot lab\n  yagura etcd snapshot prod && yagura etcd snapshots prod\n\n" +
        "Stored as <dir>/<env>-<UTC time>-rev<revision>.db (0600) with a .json sidecar; <dir> is\n" +
        "reconciler.backup.dir, else .yagura/<env>/backups. Needs etcdctl on this machine to verify.",
    )
    .action(async (env: string) => {
      // The etcd and SSH clients load with the action, not with every command (scripts/build.mjs).
      const [{ session }, { takeSnapshot }] = await Promise.all([
        import("../run/session.js"),
        import("../backup/snapshot.js"),
      ]);
      const s = spec(env);
      await checkLabRoutes(s);
      const io = session(s, { inventoryFile: s.file, scope: "etcd" });
      const m = await io.prepare(new Date());
      const pass = io.open(m);
      const cps = controlPlane(s);
      const store = localSnapshotStore(backupDir(s), s.env);
      try {
        const admin = pass.etcdAdmin(cps.map(clientURL));
        const members = await Promise.all(
          cps.map(async (n) => ({
            node: n.name,
            clientURL: clientURL(n),
            status: await admin.endpointStatus(clientURL(n)),
          })),
        );
        const { entry, ms } = await takeSnapshot({
          env: s.env,
          tls: m.adminTls,
          members,
          store,
          now: () => new Date(),
        });
        const meta = entry.meta!;
        say(`snapshot ${entry.path}`);
        say(
          `  revision ${meta.revision}, ${meta.keys} keys, ${mib(meta.size)}, from ${meta.member}, in ${(ms / 1000).toFixed(1)} s`,
        );
        const gone = await applyRetention(store, s.env, s.inventory.reconciler.backup.retention);
        if (gone.length) say(`  retention (${s.inventory.reconciler.backup.retention}): removed ${gone.join(", ")}`);
      } catch (err) {
        if (err instanceof Error && !(err instanceof UserError))
          throw new OperationFailedError(`snapshot of ${s.env}: ${err.message}`);
        throw err;
      } finally {
        await pass.close();
      }
    });

  etcd
    .command("snapshots")
    .description("list the stored snapshots of an environment, newest first, with their age")
    .argument("<env>", "environment name or inventory file")
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  yagura etcd snapshots lab\n  yagura etcd snapshots prod --json | jq -r '.[0].path'",
    )
    .action(async (env: string, o: { json?: boolean }) => {
      const { age } = await import("../backup/schedule.js");
      const s = spec(env);
      const store = localSnapshotStore(backupDir(s), s.env);
      const list = await store.list();
      if (o.json) return say(JSON.stringify(list, null, 2));
      if (list.length === 0) return say(`no snapshots of ${s.env} in ${store.location}`);
      const now = new Date();
      say(
        `${"AGE".padEnd(7)} ${"REVISION".padEnd(9)} ${"KEYS".padEnd(7)} ${"SIZE".padEnd(10)} ${"MEMBER".padEnd(12)} FILE`,
      );
      for (const e of list) {
        const m = e.meta;
        const when = m ? age(now, new Date(m.takenAt)) : "?";
        say(
          `${when.padEnd(7)} ${String(m?.revision ?? "?").padEnd(9)} ${String(m?.keys ?? "?").padEnd(7)} ${(m ? mib(m.size) : "?").padEnd(10)} ${(m?.member ?? "?").padEnd(12)} ${e.path}`,
        );
      }
    });

  etcd
    .command("restore")
    .description(
      "replace the etcd cluster's data with a snapshot on every control-plane node (old data dirs are kept aside)",
    )
    .argument("<env>", "environment name or inventory file")
    .requiredOption("--snapshot <file>", "the .db file to restore (verified first)")
    .option("--yes", "go ahead even though the cluster still has quorum: every write since the snapshot is lost")
    .option("--force", "skip the quorum check (the snapshot is verified all the same)")
    .addHelpText(
      "after",
      "\nExamples:\n  yagura etcd restore prod --snapshot .yagura/prod/backups/prod-20261123T150614Z-rev4211.db\n" +
        "  yagura etcd restore lab --snapshot ./lab.db --yes   # the cluster is healthy: roll it back anyway\n\n" +
        "Without --yes it refuses while a quorum of members is healthy. Then run yagura reconcile ENV.",
    )
    .action(async (env: string, o: { snapshot: string; yes?: boolean; force?: boolean }) => {
      const [{ session }, { verifySnapshot }, restore] = await Promise.all([
        import("../run/session.js"),
        import("../backup/snapshot.js"),
        import("../backup/restore.js"),
      ]);
      const { quorumLost, restoreCluster, restoreMembers, restorePaths, restoreToken, initialCluster } = restore;
      const s = spec(env);
      if (!existsSync(o.snapshot)) throw new UserError(`snapshot ${o.snapshot} does not exist`);
      let check;
      try {
        check = await verifySnapshot(o.snapshot);
      } catch (err) {
        throw new UserError(`refusing to restore an unverified snapshot: ${(err as Error).message}`);
      }
      if (existsSync(`${o.snapshot}.json`)) {
        const meta = JSON.parse(readFileSync(`${o.snapshot}.json`, "utf8")) as SnapshotMeta;
        if (meta.sha256 !== check.sha256)
          throw new UserError(
            `${o.snapshot}: sha256 differs from its sidecar ${o.snapshot}.json (the file changed after it was taken)`,
          );
      }
      say(`snapshot ${o.snapshot}: revision ${check.revision}, ${check.keys} keys, ${mib(check.size)}, verified`);
      await checkLabRoutes(s);
      const io = session(s, { inventoryFile: s.file, scope: "etcd" });
      const lock = await acquireLock(io.paths.lock, { waitMs: 0 });
      let pass: ReturnType<typeof io.open> | undefined;
      const cps = controlPlane(s);
      try {
        const m = await io.prepare(new Date());
        pass = io.open(m);
        const admin = pass.etcdAdmin(cps.map(clientURL));
        const stamp = utcStamp(new Date());
        const token = restoreToken(s.env, stamp, randomBytes(4).toString("hex"));
        const members = restoreMembers(cps);
        say(`restore plan for ${s.env}:`);
        say(
          `  stop etcd on ${cps.map((n) => n.name).join(", ")}; move each data dir aside to ${restorePaths(stamp).aside}`,
        );
        say(`  restore revision ${check.revision} as a new cluster (token ${token}): ${initialCluster(members)}`);
        say(`  every write after revision ${check.revision} is lost`);
        if (!o.force) {
          const st = await Promise.all(cps.map((n) => admin.endpointStatus(clientURL(n))));
          const lost = quorumLost(st, cps.length);
          say(
            `  quorum: ${lost ? "lost" : "healthy"} (${st.filter((x) => x.healthy).length}/${cps.length} members healthy)`,
          );
          if (!lost && !o.yes)
            throw new RefusedError(
              `etcd of ${s.env} still has quorum; restoring would roll it back to revision ${check.revision}. Re-run with --yes to do it anyway.`,
            );
        }
        lock.check();
        const r = await restoreCluster({
          env: s.env,
          nodes: cps,
          snapshot: readFileSync(o.snapshot),
          stamp,
          token,
          shell: pass.shell,
          admin,
          progress: say,
        });
        say(
          `restored ${s.env} to revision ${check.revision} in ${(r.ms / 1000).toFixed(1)} s; now run: yagura reconcile ${env}`,
        );
      } catch (err) {
        if (err instanceof Error && err.name === "CommandError") throw err;
        if (err instanceof Error && !(err instanceof UserError) && !(err instanceof RefusedError))
          throw new OperationFailedError(`restore of ${s.env}: ${err.message}`);
        throw err;
      } finally {
        await pass?.close();
        lock.release();
      }
    });
}
