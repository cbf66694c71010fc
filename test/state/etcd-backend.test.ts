/**
 * The etcd state backend against a real etcd: one leader per environment, hand-over within the
 * lease after the holder dies, fenced writes (a late write with an old token is refused), records
 * for `history`, and the PKI sealed in the store().
 */
import { existsSync, statSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openPki } from "../../src/pki/index.js";
import type { OpRecord } from "../../src/run/records.js";
import { OperationFailedError, RefusedError } from "../../src/cli/errors.js";
import { etcdBackend } from "../../src/state/etcd/backend.js";
import { stateClient } from "../../src/state/etcd/client.js";
import { etcdRecordWriter } from "../../src/state/etcd/records.js";
import { parseStateLocation, stateKeys } from "../../src/state/location.js";
import { LostLeadershipError } from "../../src/state/index.js";
import { freePort } from "../infra/etcd-server.js";
import { newStateKey, stateEtcdSkipReason } from "./state-etcd.js";
import { throws, useStateStore } from "./store-fixture.js";

const skip = stateEtcdSkipReason();
if (skip) console.warn(skip);

const TTL = 3;

describe.skipIf(skip !== undefined)("etcd state backend (real etcd)", () => {
  const fixture = useStateStore(TTL);
  const { key, store, backend, prefix, track } = fixture;

  it("lets one instance lead; another is refused with the holder named", async () => {
    const p = prefix();
    const a = await backend(p).acquire();
    await expect(backend(p).acquire({ waitMs: 0 })).rejects.toThrow(/env1 is led by .+:\d+ .*\(token \d+\)/);
    await expect(backend(p).acquire({ waitMs: 0 })).rejects.toBeInstanceOf(RefusedError);
    await a.close();
    const b = await backend(p).acquire({ waitMs: 0 });
    expect(b.token).toBeGreaterThan(a.token);
    await b.close();
  });

  it("hands over within the lease when the holder is killed, and refuses the old holder's late write", async () => {
    const p = prefix();
    const url = `etcd://${store().hostPort}?ttl=${TTL}s&prefix=${p}`;
    const { child, out, exited } = fixture.instance("holder-process.ts", url);
    let m: RegExpExecArray | null = null;
    for (let i = 0; i < 200 && !(m = /^leading (\d+) (.+)$/m.exec(out())) && child.exitCode === null; i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(m, out()).not.toBeNull();
    const oldToken = Number(m![1]);
    const rec = JSON.parse(m![2]!) as OpRecord;

    const lines: string[] = [];
    const standby = backend(p).acquire({ waitMs: Infinity, log: (l) => lines.push(l) });
    await new Promise((r) => setTimeout(r, 300));
    child.kill("SIGKILL");
    await exited;
    const killedAt = Date.now();
    const b = await standby;
    const handoverMs = Date.now() - killedAt;
    console.log(
      `etcd state: hand-over after kill -9 of the holder: ${(handoverMs / 1000).toFixed(1)} s (lease ttl ${TTL} s)`,
    );
    expect(handoverMs).toBeLessThan(TTL * 1000 + 15_000);
    expect(lines.join("\n")).toMatch(/standing by: env1 is led by .+ \(token \d+\)/);
    expect(b.token).toBeGreaterThan(oldToken);
    expect(b.takeover).toMatch(new RegExp(`after .+ \\(token ${oldToken}\\); 1 unfinished op\\(s\\) marked cancelled`));

    // A process that kept its old token (it missed its lease running out()) writes late: refused.
    const late = stateClient([`https://${store().hostPort}`], store().tls);
    try {
      const k = stateKeys(p, "env1");
      const w = etcdRecordWriter({
        client: late,
        recordsPrefix: k.records,
        leaderKey: k.leader,
        token: oldToken,
        holder: "stale:1",
        checkLeader: () => undefined,
      });
      w.update(rec, { status: "succeeded", endedAt: new Date().toISOString() });
      await expect(w.fence()).rejects.toThrow(
        new RegExp(`leadership \\(token ${oldToken}\\) is gone; it is led by .+ \\(token ${b.token}\\)`),
      );
      await expect(w.fence()).rejects.toBeInstanceOf(LostLeadershipError);
      expect(() => w.start("etcd-restart", ["node1"], "p")).toThrow(LostLeadershipError);
    } finally {
      late.close();
    }
    const recs = await backend(p).readRecords();
    expect(recs.map((r) => [r.op, r.status, r.token])).toEqual([["etcd-start", "cancelled", b.token]]);
    await b.close();
  }, 60_000);

  it("stops writing with LostLeadershipError once the leader key is gone, and campaigns again", async () => {
    const p = prefix();
    const be = backend(p);
    const a = await be.acquire();
    await store().raw.delete().key(stateKeys(p, "env1").leader);
    // The leader notices through its watch on the key, before it writes anything.
    for (let i = 0; i < 100 && !throws(() => a.check()); i++) await new Promise((r) => setTimeout(r, 50));
    expect(() => a.check()).toThrow(/the leader key \/t\d+\/env1\/leader was deleted/);
    expect(() => a.records.start("etcd-start", ["node1"], "p")).toThrow(LostLeadershipError);
    // Secrets are fenced the same way: nothing reaches the store().
    await expect(
      a.withPki(async (dir) => void (await openPki(dir).ensureCA("etcd-client", new Date()))),
    ).rejects.toThrow(LostLeadershipError);
    expect(await store().raw.getAll().prefix(stateKeys(p, "env1").secrets).keys()).toEqual([]);
    await a.close();
    const again = await be.acquire({ waitMs: 0 });
    expect(again.token).toBeGreaterThan(a.token);
    await again.close();
  });

  it("keeps records in order for history, merged by id, with the writer named", async () => {
    const p = prefix();
    const a = await backend(p).acquire();
    const r1 = a.records.start("etcd-bootstrap", ["node1", "node2"], "etcd-bootstrap");
    a.records.update(r1, { status: "succeeded", endedAt: new Date().toISOString(), command: "start@node1" });
    const r2 = a.records.start("etcd-wait", ["node1"], "etcd-bootstrap");
    a.records.update(r2, { status: "failed", error: "no leader" });
    await a.records.fence!();
    const recs = await backend(p).readRecords();
    expect(recs.map((r) => [r.op, r.status, r.token, r.command ?? r.error])).toEqual([
      ["etcd-bootstrap", "succeeded", a.token, "start@node1"],
      ["etcd-wait", "failed", a.token, "no leader"],
    ]);
    expect(recs[0]!.holder).toMatch(/^.+:\d+$/);
    expect(recs[0]!.targets).toEqual(["node1", "node2"]);
    await a.close();
  });

  it("stores the PKI sealed, opens it in a private 0700 dir that is gone afterwards, 0600 keys", async () => {
    const p = prefix();
    const a = await backend(p).acquire();
    let seen = "";
    const caPem = await a.withPki(async (dir) => {
      seen = dir;
      const pki = openPki(dir);
      const pem = await pki.ensureCA("etcd-client", new Date());
      await pki.ensureServiceAccountKey();
      return pem;
    });
    expect(existsSync(seen)).toBe(false);
    const k = stateKeys(p, "env1");
    const raw = await store().raw.getAll().prefix(k.secrets).buffers();
    expect(Object.keys(raw).sort()).toEqual(
      ["etcd-client-ca.crt", "etcd-client-ca.key", "sa.key", "sa.pub"].map((f) => k.secrets + f),
    );
    for (const v of Object.values(raw)) {
      expect(v.toString("latin1")).not.toContain("BEGIN");
      expect(v.toString("latin1")).not.toContain("PRIVATE KEY");
    }
    await a.close();

    // Another instance with the same key reads the same CA; files 0600 in a 0700 dir.
    const other = backend(p);
    const again = await other.readPki(async (dir) => {
      expect(statSync(dir).mode & 0o777).toBe(0o700);
      for (const f of await readdir(dir)) expect(statSync(join(dir, f)).mode & 0o777).toBe(0o600);
      return openPki(dir).ensureCA("etcd-client", new Date());
    });
    expect(again).toBe(caPem);

    await expect(backend(p, newStateKey()).readPki(async () => undefined)).rejects.toThrow(
      /cannot decrypt \/t\d+\/env1\/secrets\/\S+ from the state store with YAGURA_STATE_KEY: it is not the key that wrote it/,
    );
  });

  it("refuses to lead or open the PKI without a usable YAGURA_STATE_KEY, naming it; history needs none", async () => {
    const loc = parseStateLocation(`etcd://${store().hostPort}?prefix=/nokey`, store().tls);
    if (loc.kind !== "etcd") throw new Error("expected an etcd location");
    const none = etcdBackend("env1", loc, {});
    track(none);
    await expect(none.acquire()).rejects.toThrow(/YAGURA_STATE_KEY is not set.*openssl rand -base64 32/);
    await expect(none.readPki(async () => undefined)).rejects.toThrow(/YAGURA_STATE_KEY is not set/);
    expect(await none.readRecords()).toEqual([]);
    const short = etcdBackend("env1", loc, { YAGURA_STATE_KEY: "c2hvcnQ=" });
    track(short);
    await expect(short.acquire()).rejects.toThrow(
      /YAGURA_STATE_KEY is not 32 bytes of base64 \(it decodes to 5 bytes\)/,
    );
    expect(await store().raw.get(stateKeys("/nokey", "env1").leader).string()).toBeNull();
  });

  it("says which store did not answer, and how to point at it, when nothing listens there", async () => {
    const b = etcdBackend("env1", parseStateLocation(`etcd://127.0.0.1:${await freePort()}`) as never, {
      YAGURA_STATE_KEY: key,
    });
    track(b);
    await expect(b.acquire()).rejects.toBeInstanceOf(OperationFailedError);
    await expect(b.readRecords()).rejects.toThrow(/the state store etcd:\/\/127.0.0.1:\d+ did not answer .*--state-ca/);
  });
});
