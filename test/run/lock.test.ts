import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { acquireLock } from "../../src/run/lock.js";
import { cancelUnfinished, readRecords, recordWriter } from "../../src/run/records.js";

const tmp = () => mkdtempSync(join(tmpdir(), "yagura-lock-"));

describe("environment lock", () => {
  it("a second reconciler is refused with the holder named", async () => {
    const p = join(tmp(), "lock");
    const a = await acquireLock(p);
    await expect(acquireLock(p, { waitMs: 300 })).rejects.toThrow(
      new RegExp(`pid ${process.pid} on ${hostname()}.*token 1`),
    );
    a.release();
    const b = await acquireLock(p);
    expect(b.token).toBe(2);
    b.release();
  });

  it("a dead holder is taken over and its writes are fenced off", async () => {
    const dir = tmp();
    const p = join(dir, "lock");
    const dead = spawnSync("true").pid!;
    writeFileSync(
      p,
      JSON.stringify({
        held: true,
        pid: dead,
        hostname: hostname(),
        startedAt: "x",
        leaseUntil: new Date(Date.now() + 60_000).toISOString(),
        token: 7,
      }),
    );
    const recs = join(dir, "records.jsonl");
    const oldWriter = recordWriter(recs, 7, () => undefined);
    oldWriter.start("etcd-bootstrap", ["n1"], "etcd-bootstrap");
    const l = await acquireLock(p);
    expect(l.token).toBe(8);
    expect(l.tookOver?.pid).toBe(dead);
    const w = recordWriter(recs, l.token, () => l.check());
    expect(cancelUnfinished(recs, w, new Date())).toBe(1);
    expect(readRecords(recs).map((r) => r.status)).toEqual(["cancelled"]);
    // Someone else takes over (lease expiry elsewhere): our next write must fail.
    const s = JSON.parse(readFileSync(p, "utf8"));
    writeFileSync(p, JSON.stringify({ ...s, pid: s.pid + 1, token: 9 }));
    expect(() => w.start("etcd-restart", ["n1"], "etcd-restart")).toThrow(/lost the environment lock/);
    expect(readRecords(recs)).toHaveLength(1);
  });

  it("an expired lease is stale even when the pid lives elsewhere", async () => {
    const p = join(tmp(), "lock");
    writeFileSync(
      p,
      JSON.stringify({
        held: true,
        pid: 1,
        hostname: "elsewhere",
        startedAt: "x",
        leaseUntil: new Date(Date.now() - 1000).toISOString(),
        token: 3,
      }),
    );
    const l = await acquireLock(p);
    expect(l.token).toBe(4);
    l.release();
  });
});
