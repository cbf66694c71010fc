/**
 * The restore drill in a real lab (own bridge ygbr80b, 10.80.0.0/24): 3 control-plane nodes,
 * `reconcile --scope etcd`, N keys, a snapshot, M more keys, quorum destroyed (etcd stopped and
 * data wiped on 2 of 3), `etcd restore`, then every snapshotted key read back, the later ones
 * gone, and a reconcile that completes. Every yagura command is the real CLI in a child process.
 */
import { existsSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { envPaths } from "../../src/cluster/paths.js";
import { createEtcdAdmin } from "../../src/infra/etcd.js";
import type { EtcdAdmin } from "../../src/infra/types.js";
import { labExec } from "../../src/lab/index.js";
import { routedViaBridge } from "../../src/lab/ssh.js";
import { prepareMaterial } from "../../src/run/material.js";
import { cli, e2eSkipReason, opsOf, useLab } from "../e2e/helpers.js";

const reason = e2eSkipReason();
const skip = reason ? reason.replace(/^etcd e2e skipped/, "etcd restore drill skipped") : undefined;
if (skip) console.warn(skip);

const ENV = "b80";
const BRIDGE = "ygbr80b";
const NODES: [string, string][] = [
  ["node1", "10.80.0.11"],
  ["node2", "10.80.0.12"],
  ["node3", "10.80.0.13"],
];
const URLS = NODES.map(([, a]) => `https://${a}:2379`);
const BEFORE = 2000;
const AFTER = 100;
const key = (phase: string, i: number) => `drill/${phase}/${String(i).padStart(5, "0")}`;
/** 1 KiB values, so the snapshot has some size to it. */
const value = (i: number) => `v${i}-`.padEnd(1024, "x");
/** Runs fn(0..n-1), 50 at a time. */
async function batched(n: number, fn: (i: number) => Promise<void>): Promise<void> {
  for (let i = 0; i < n; i += 50) await Promise.all(Array.from({ length: Math.min(50, n - i) }, (_, k) => fn(i + k)));
}

describe.skipIf(skip !== undefined)("etcd restore drill in the lab (real sshd, runit, etcd)", () => {
  const figures: string[] = [];
  const { root, state, file, spec } = useLab({
    inventory: {
      env: ENV,
      bridge: BRIDGE,
      cidr: "10.80.0.0/24",
      nodes: NODES,
      extra: ["reconciler: { backup: { retention: 3 } }"],
    },
    tmpPrefix: "restore",
    skip,
    beforeDown: () => {
      if (figures.length) console.log(`restore drill:\n  ${figures.join("\n  ")}`);
    },
  });
  const run = (args: string[]) => cli(state, args);
  const node = (name: string, command: string) => labExec(ENV, name, command, { stateRoot: state });
  /** An admin client, only once every node address is routed through this lab's bridge. */
  const admin = async (): Promise<EtcdAdmin> => {
    for (const [, a] of NODES)
      if (!(await routedViaBridge(a, BRIDGE))) throw new Error(`${a} is not routed via ${BRIDGE}`);
    const m = await prepareMaterial(spec(), envPaths(ENV, state).pkiDir, new Date());
    return createEtcdAdmin(URLS, m.adminTls, { callTimeoutMs: 5000 });
  };
  const secs = (t0: number) => ((performance.now() - t0) / 1000).toFixed(1);
  let snapshotFile = "";

  it("forms etcd, writes keys and takes a verified 0600 snapshot", async () => {
    let t0 = performance.now();
    const r = await run(["reconcile", file, "--scope", "etcd"]);
    expect(r.code, r.out).toBe(0);
    figures.push(`reconcile (bring-up): ${secs(t0)} s`);

    const a = await admin();
    t0 = performance.now();
    try {
      await batched(BEFORE, (i) => a.put(key("before", i), value(i)));
    } finally {
      await a.close();
    }
    figures.push(`${BEFORE} keys written in ${secs(t0)} s`);

    t0 = performance.now();
    const s = await run(["etcd", "snapshot", file]);
    expect(s.code, s.out).toBe(0);
    figures.push(`snapshot: ${secs(t0)} s wall (CLI included); ${s.out.split("\n")[1]?.trim()}`);
    snapshotFile = /^snapshot (\S+)$/m.exec(s.out)![1]!;
    expect(snapshotFile).toMatch(new RegExp(`/backups/${ENV}-\\d{8}T\\d{6}Z-rev\\d+\\.db$`));
    expect(statSync(snapshotFile).mode & 0o777).toBe(0o600);
    expect(existsSync(`${snapshotFile}.json`)).toBe(true);
    // At least the drill's keys; the count comes from etcdctl snapshot status.
    const keys = Number(/(\d+) keys/.exec(s.out)![1]);
    expect(keys).toBeGreaterThanOrEqual(BEFORE);

    const l = await run(["etcd", "snapshots", file]);
    expect(l.code, l.out).toBe(0);
    expect(l.out).toContain(snapshotFile);
  }, 120_000);

  it("refuses to restore over a healthy cluster without --yes, and refuses a corrupt snapshot", async () => {
    const r = await run(["etcd", "restore", file, "--snapshot", snapshotFile]);
    expect(r.code, r.out).toBe(4);
    expect(r.out).toMatch(/still has quorum/);
    const bad = join(root, "bad.db");
    writeFileSync(bad, Buffer.alloc(8192 + 32, 7));
    const b = await run(["etcd", "restore", file, "--snapshot", bad, "--force"]);
    expect(b.code, b.out).toBe(1);
    expect(b.out).toMatch(/unverified snapshot/);
  }, 60_000);

  it("restores after quorum is lost: every snapshotted key back, later writes gone, reconcile completes", async () => {
    const a = await admin();
    let oldIds: string[];
    try {
      await batched(AFTER, (i) => a.put(key("after", i), `late${i}`));
      oldIds = (await a.members()).map((x) => x.id).sort();
    } finally {
      await a.close();
    }
    for (const n of ["node2", "node3"]) {
      const w = await node(n, "sv -w 10 down /etc/service/etcd && rm -rf /var/lib/etcd/member");
      expect(w.code, w.stderr).toBe(0);
    }

    let t0 = performance.now();
    const r = await run(["etcd", "restore", file, "--snapshot", snapshotFile]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/quorum: lost/);
    expect(r.out.match(/✓ node\d: healthy/g)).toHaveLength(3);
    expect(r.out).toMatch(/node1: data dir set aside as \/var\/lib\/etcd\/member\.pre-restore-/);
    expect(r.out).toMatch(/node2: no data dir to set aside/);
    figures.push(`restore: ${secs(t0)} s wall (CLI included)`);

    const b = await admin();
    let found = 0;
    let late = 0;
    try {
      await batched(BEFORE, async (i) => void ((await b.get(key("before", i))) === value(i) && found++));
      await batched(AFTER, async (i) => void ((await b.get(key("after", i))) !== undefined && late++));
      // A fresh cluster token gives new member ids: a stale member of the old cluster cannot rejoin.
      const members = await b.members();
      expect(members.map((x) => x.name).sort()).toEqual(["node1", "node2", "node3"]);
      expect(members.filter((x) => oldIds.includes(x.id))).toEqual([]);
    } finally {
      await b.close();
    }
    figures.push(
      `read back ${found}/${BEFORE} snapshotted keys; ${late}/${AFTER} post-snapshot keys present (expected 0)`,
    );
    expect(found).toBe(BEFORE);
    expect(late).toBe(0);

    // The surviving member's old data is kept aside, never deleted.
    const aside = await node("node1", "ls -d /var/lib/etcd/member.pre-restore-*");
    expect(aside.code, aside.stderr).toBe(0);

    t0 = performance.now();
    const again = await run(["reconcile", file, "--scope", "etcd"]);
    expect(again.code, again.out).toBe(0);
    expect(again.out).toMatch(/completed after \d+ pass\(es\)/);
    figures.push(`reconcile after restore: ${secs(t0)} s, ops: [${opsOf(again.out).join(", ")}]`);
  }, 180_000);

  it("--yes restores over a healthy cluster; retention keeps the newest 3 snapshots", async () => {
    const r = await run(["etcd", "restore", file, "--snapshot", snapshotFile, "--yes"]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/quorum: healthy \(3\/3/);
    // Four more snapshots; the inventory keeps 3, so the drill's first one (the oldest) goes.
    for (let k = 0; k < 4; k++) {
      const s = await run(["etcd", "snapshot", file]);
      expect(s.code, s.out).toBe(0);
      await new Promise((res) => setTimeout(res, 1100)); // one per second: names carry a UTC second
    }
    const l = await run(["etcd", "snapshots", file, "--json"]);
    const list = JSON.parse(l.out.slice(l.out.indexOf("["))) as { path: string; meta: { keys: number } }[];
    expect(list).toHaveLength(3);
    expect(list.map((e) => e.path)).not.toContain(snapshotFile);
    expect(existsSync(snapshotFile)).toBe(false);
    expect(list.every((e) => e.meta.keys >= BEFORE)).toBe(true);
    const again = await run(["reconcile", file, "--scope", "etcd"]);
    expect(again.code, again.out).toBe(0);
  }, 120_000);
});
