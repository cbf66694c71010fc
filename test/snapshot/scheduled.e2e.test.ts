/**
 * The ladder's scheduled snapshot (rung 10) in a real lab (own bridge ygbr82s, 10.82.0.0/24):
 * `reconcile --scope etcd` on a fresh 3-node lab forms etcd and takes exactly one verified
 * snapshot; a second run takes none and says completed; once the newest snapshot is older than
 * the schedule a run takes another, and retention keeps the newest 2. The inventory refuses a
 * schedule under 1m, so "older than the schedule" is made by back-dating the newest sidecar's
 * takenAt (what observe reads) instead of waiting. Every reconcile is the real CLI in a child.
 */
import { chmodSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { verifySnapshot } from "../../src/backup/snapshot.js";
import type { SnapshotMeta } from "../../src/backup/store.js";
import { envPaths } from "../../src/cluster/paths.js";
import { cli, e2eSkipReason, etcdctl, opsOf, useLab } from "../e2e/helpers.js";

const reason = e2eSkipReason();
const skip = reason ? reason.replace(/^etcd e2e skipped/, "scheduled snapshot e2e skipped") : undefined;
if (skip) console.warn(skip);

const ENV = "s82";
const NODES: [string, string][] = [
  ["node1", "10.82.0.11"],
  ["node2", "10.82.0.12"],
  ["node3", "10.82.0.13"],
];
const URLS = NODES.map(([, a]) => `https://${a}:2379`);
/** Ops run, without the transitional waits a pass may insert while a member starts. */
const changes = (out: string) => opsOf(out).filter((o) => o !== "etcd-wait");

describe.skipIf(skip !== undefined)("scheduled etcd snapshots in the lab (real sshd, runit, etcd)", () => {
  const { state, file } = useLab({
    inventory: {
      env: ENV,
      bridge: "ygbr82s",
      cidr: "10.82.0.0/24",
      nodes: NODES,
      extra: ["reconciler: { backup: { schedule: 1m, retention: 2 } }"],
    },
    tmpPrefix: "snapshot",
    skip,
  });
  const dir = join(envPaths(ENV, state).dir, "backups");
  const reconcile = () => cli(state, ["reconcile", file, "--scope", "etcd"]);
  /** Snapshot files of the environment, newest first by name. */
  const snapshots = () =>
    readdirSync(dir)
      .filter((n) => n.endsWith(".db") && n.startsWith(`${ENV}-`))
      .sort()
      .reverse();
  /** Makes the newest snapshot look `ms` old to the next observe. */
  const backdate = (ms: number) => {
    const side = join(dir, `${snapshots()[0]!}.json`);
    const meta = JSON.parse(readFileSync(side, "utf8")) as SnapshotMeta;
    writeFileSync(side, JSON.stringify({ ...meta, takenAt: new Date(Date.now() - ms).toISOString() }));
    chmodSync(side, 0o600);
  };
  /** A write between snapshots, so each one has a new revision. */
  const write = (k: string) => expect(etcdctl(state, ENV, URLS, ["put", k, "1"]).code).toBe(0);

  it("a fresh lab: etcd is formed and exactly one verified 0600 snapshot is taken", async () => {
    const r = await reconcile();
    expect(r.code, r.out).toBe(0);
    expect(changes(r.out)).toEqual(["etcd-certs", "etcd-files", "etcd-bootstrap", "etcd-snapshot"]);
    expect(r.out).toMatch(/completed after \d+ pass\(es\)/);
    const names = snapshots();
    expect(names).toHaveLength(1);
    const db = join(dir, names[0]!);
    expect(statSync(db).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const meta = JSON.parse(readFileSync(`${db}.json`, "utf8")) as SnapshotMeta;
    expect(statSync(`${db}.json`).mode & 0o777).toBe(0o600);
    expect(meta.env).toBe(ENV);
    expect(NODES.map(([n]) => n)).toContain(meta.member);
    const check = await verifySnapshot(db);
    expect(check.revision).toBe(meta.revision);
    expect(check.sha256).toBe(meta.sha256);
  }, 120_000);

  it("a second run takes none and says completed", async () => {
    const r = await reconcile();
    expect(r.code, r.out).toBe(0);
    expect(opsOf(r.out)).toEqual([]);
    expect(r.out).toMatch(/completed after 1 pass\(es\), 0 op\(s\)/);
    expect(snapshots()).toHaveLength(1);
  }, 60_000);

  it("once the newest is older than the schedule a run takes another; retention keeps the newest 2", async () => {
    const first = snapshots()[0]!;
    write("after-first");
    backdate(2 * 60_000);
    let r = await reconcile();
    expect(r.code, r.out).toBe(0);
    expect(opsOf(r.out)).toEqual(["etcd-snapshot"]);
    expect(r.out).toMatch(/completed after 2 pass\(es\), 1 op\(s\)/);
    const two = snapshots();
    expect(two).toHaveLength(2);
    expect(two[1]).toBe(first);

    write("after-second");
    backdate(2 * 60_000);
    r = await reconcile();
    expect(r.code, r.out).toBe(0);
    expect(opsOf(r.out)).toEqual(["etcd-snapshot"]);
    const kept = snapshots();
    expect(kept).toHaveLength(2);
    expect(kept).not.toContain(first);
    expect(kept[1]).toBe(two[0]);
    for (const n of kept) await verifySnapshot(join(dir, n));
  }, 90_000);
});
