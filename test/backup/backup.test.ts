/** The pure parts of snapshots and restore: names, retention, due, member choice, restore commands. */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { due, age } from "../../src/backup/schedule.js";
import {
  initialCluster,
  quorumLost,
  restoreMembers,
  restoreScript,
  restoreToken,
  setAsideScript,
} from "../../src/backup/restore.js";
import { pickSnapshotMember, verifySnapshot, type MemberStatus } from "../../src/backup/snapshot.js";
import {
  localSnapshotStore,
  newestFirst,
  parseSnapshotName,
  retentionVictims,
  snapshotName,
  utcStamp,
  type SnapshotMeta,
} from "../../src/backup/store.js";
import type { EtcdEndpointStatus } from "../../src/infra/types.js";

const at = (iso: string) => new Date(iso);

describe("snapshot names", () => {
  it("are <env>-<UTC stamp>-rev<revision>.db and parse back", () => {
    const n = snapshotName("prod-eu", at("2026-11-23T15:06:14.123Z"), 4211);
    expect(n).toBe("prod-eu-20261123T150614Z-rev4211.db");
    expect(parseSnapshotName(n)).toEqual({ env: "prod-eu", stamp: "20261123T150614Z", revision: 4211 });
    expect(parseSnapshotName("prod-eu-20261123T150614Z-rev4211.db.json")).toBeUndefined();
    expect(utcStamp(at("2026-01-02T03:04:05Z"))).toBe("20260102T030405Z");
  });

  it("sort newest first, revision breaking a tie within one second", () => {
    const names = ["e-20261123T150000Z-rev5.db", "e-20261123T160000Z-rev3.db", "e-20261123T150000Z-rev9.db"];
    expect(newestFirst(names)).toEqual([
      "e-20261123T160000Z-rev3.db",
      "e-20261123T150000Z-rev9.db",
      "e-20261123T150000Z-rev5.db",
    ]);
  });
});

describe("retention", () => {
  const names = Array.from({ length: 20 }, (_, i) =>
    snapshotName("e", new Date(Date.UTC(2026, 10, 23, 0, i)), 100 + i),
  );
  it.each([
    [16, 4],
    [1, 19],
    [20, 0],
    [50, 0],
  ])("keep %i of 20 deletes %i, always the oldest", (keep, n) => {
    const v = retentionVictims(names, "e", keep);
    expect(v).toHaveLength(n);
    expect(v.every((x) => names.indexOf(x) < 20 - keep)).toBe(true);
  });
  it("never touches another environment's files, and refuses keep < 1", () => {
    expect(retentionVictims([...names, "e2-20200101T000000Z-rev1.db"], "e", 1)).not.toContain(
      "e2-20200101T000000Z-rev1.db",
    );
    expect(() => retentionVictims(names, "e", 0)).toThrow(/at least 1/);
  });
});

describe("due", () => {
  const last = at("2026-11-23T15:00:00Z");
  it.each([
    ["2026-11-23T15:14:59Z", "15m", false],
    ["2026-11-23T15:15:00Z", "15m", true],
    ["2026-11-23T16:00:00Z", "1h", true],
    ["2026-11-23T15:59:59Z", "1h", false],
    ["2026-11-23T14:00:00Z", "15m", true], // clock went back: take one rather than wait an hour
  ] as const)("now %s, schedule %s → %s", (now, schedule, want) => {
    expect(due(at(now), last, schedule)).toBe(want);
  });
  it("is due when nothing was ever taken; rejects a bad schedule", () => {
    expect(due(at("2026-11-23T15:00:00Z"), undefined, "15m")).toBe(true);
    expect(() => due(at("2026-11-23T16:00:00Z"), last, "soon")).toThrow(/invalid duration/);
  });
  it("ages read like durations", () => {
    expect(age(at("2026-11-23T15:00:30Z"), last)).toBe("30s");
    expect(age(at("2026-11-23T17:05:00Z"), last)).toBe("2h5m");
    expect(age(at("2026-11-26T15:00:00Z"), last)).toBe("3d");
  });
});

const st = (memberId: string, applied: number, o: Partial<EtcdEndpointStatus> = {}): EtcdEndpointStatus => ({
  endpoint: `https://${memberId}:2379`,
  healthy: true,
  memberId,
  leaderId: "1",
  raftIndex: applied,
  raftAppliedIndex: applied,
  isLearner: false,
  ...o,
});
const m = (node: string, status: EtcdEndpointStatus): MemberStatus => ({ node, status });

describe("pickSnapshotMember", () => {
  it("prefers an in-sync follower, the most up to date", () => {
    const p = pickSnapshotMember([m("a", st("1", 1000)), m("b", st("2", 990)), m("c", st("3", 995))]);
    expect(p?.node).toBe("c");
  });
  it("skips learners, the unhealthy and the lagging; falls back to the leader", () => {
    const p = pickSnapshotMember([
      m("a", st("1", 1000)),
      m("b", st("2", 1000, { isLearner: true })),
      m("c", st("3", 800)),
      m("d", { endpoint: "x", healthy: false, error: "refused" }),
    ]);
    expect(p?.node).toBe("a");
  });
  it("gives nothing without a leader", () => {
    expect(
      pickSnapshotMember([m("a", st("1", 10, { leaderId: "0" })), m("b", { endpoint: "y", healthy: false })]),
    ).toBeUndefined();
  });
});

describe("quorumLost", () => {
  it.each([
    [3, 3, false],
    [3, 2, false],
    [3, 1, true],
    [5, 2, true],
    [1, 0, true],
  ])("%i voters, %i healthy → lost %s", (voters, healthy, lost) => {
    const sts = Array.from({ length: voters }, (_, i) =>
      i < healthy ? st(String(i + 1), 5) : { endpoint: "z", healthy: false },
    );
    expect(quorumLost(sts, voters)).toBe(lost);
  });
});

describe("restore commands", () => {
  const members = restoreMembers([
    { name: "cp1", address: "10.0.0.11" },
    { name: "cp2", address: "10.0.0.12" },
  ]);
  it("name every member with its peer URL in --initial-cluster", () => {
    expect(initialCluster(members)).toBe("cp1=https://10.0.0.11:2380,cp2=https://10.0.0.12:2380");
    expect(restoreToken("prod", "20261123T150614Z", "ab12")).toBe("prod-restore-20261123T150614Z-ab12");
  });
  it("quote every value, and parse as sh", () => {
    const evil = "t'$(touch /tmp/yagura-pwned)";
    const s = restoreScript(members[0]!, members, evil, "20261123T150614Z");
    expect(s).toContain("--name cp1 --initial-cluster cp1=https://10.0.0.11:2380,cp2=https://10.0.0.12:2380");
    expect(s).toContain(`--initial-cluster-token 't'\\''$(touch /tmp/yagura-pwned)'`);
    expect(s).toContain(
      "--initial-advertise-peer-urls https://10.0.0.11:2380 --data-dir /var/lib/etcd/.restore-20261123T150614Z",
    );
    expect(s).toMatch(/mv \/var\/lib\/etcd\/.restore-20261123T150614Z\/member \/var\/lib\/etcd\/member/);
    expect(s).not.toMatch(/rm -rf \/var\/lib\/etcd\/member\b/);
    execFileSync("sh", ["-n"], { input: s });
    execFileSync("sh", ["-n"], { input: setAsideScript("20261123T150614Z") });
    expect(setAsideScript("X")).toBe(
      "if [ -d /var/lib/etcd/member ]; then mv /var/lib/etcd/member /var/lib/etcd/member.pre-restore-X && echo moved; else echo absent; fi",
    );
  });
});

describe("local snapshot store", () => {
  const dir = mkdtempSync(join(tmpdir(), "yagura-store-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const meta = (rev: number, min: number): SnapshotMeta => ({
    env: "e",
    revision: rev,
    keys: 3,
    hash: 1,
    size: 5,
    sha256: "00",
    member: "cp1",
    takenAt: new Date(Date.UTC(2026, 10, 23, 15, min)).toISOString(),
  });

  it("stores 0600 files with sidecars in a 0700 dir, lists newest first, applies retention", async () => {
    const store = localSnapshotStore(join(dir, "backups"), "e");
    for (let i = 0; i < 4; i++) {
      const t = store.tempPath();
      writeFileSync(t, "dummy");
      await store.put(t, meta(10 + i, i));
    }
    expect(statSync(join(dir, "backups")).mode & 0o777).toBe(0o700);
    const list = await store.list();
    expect(list.map((e) => e.meta?.revision)).toEqual([13, 12, 11, 10]);
    for (const e of list) {
      expect(statSync(e.path).mode & 0o777).toBe(0o600);
      expect(statSync(`${e.path}.json`).mode & 0o777).toBe(0o600);
    }
    const { applyRetention } = await import("../../src/backup/store.js");
    expect(await applyRetention(store, "e", 2)).toEqual([list[2]!.name, list[3]!.name]);
    expect(readdirSync(join(dir, "backups")).sort()).toEqual(
      [list[1]!.name, `${list[1]!.name}.json`, list[0]!.name, `${list[0]!.name}.json`].sort(),
    );
  });

  it("verification rejects a truncated or foreign file before etcdctl is asked", async () => {
    const f = join(dir, "junk.db");
    writeFileSync(f, Buffer.alloc(4096 + 32, 1));
    await expect(verifySnapshot(f)).rejects.toThrow(/sha256 trailer does not match/);
    writeFileSync(f, "not a snapshot");
    await expect(verifySnapshot(f)).rejects.toThrow(/not an etcd snapshot/);
  });
});
