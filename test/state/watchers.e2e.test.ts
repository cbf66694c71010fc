/**
 * Two `reconcile --watch` processes on one environment with the etcd state backend, in their own
 * lab (bridge ygbr88s, 10.88.0.0/24) and a real etcd as the shared store: only one leads and acts,
 * a kill -9 of it hands the lead over within the lease, the new leader repairs drift by itself,
 * and a late write under the old token is refused.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { hostname } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { envPaths } from "../../src/cluster/paths.js";
import { labExec } from "../../src/lab/index.js";
import type { OpRecord } from "../../src/run/records.js";
import { stateClient } from "../../src/state/etcd/client.js";
import { etcdRecordWriter, readEtcdRecords } from "../../src/state/etcd/records.js";
import { LostLeadershipError } from "../../src/state/index.js";
import { stateKeys } from "../../src/state/location.js";
import { e2eSkipReason, useLab, until } from "../e2e/helpers.js";
import { newStateKey, startStateEtcd, stateEtcdSkipReason, type StateEtcd } from "./state-etcd.js";

const base = e2eSkipReason() ?? stateEtcdSkipReason();
const skip = base ? `state watchers e2e skipped: ${base}` : undefined;
if (skip) console.warn(skip);

const ROOT = resolve(import.meta.dirname, "../..");
const ENV = "s88";
const LAB = {
  env: ENV,
  bridge: "ygbr88s",
  cidr: "10.88.0.0/24",
  nodes: [["node1", "10.88.0.11"]] as [string, string][],
};
const TTL = 5;

interface Watcher {
  readonly child: ChildProcess;
  out: string;
  readonly exited: Promise<number | null>;
}

describe.skipIf(skip !== undefined)("two watchers on one environment, etcd state (real lab, real etcd)", () => {
  const children: ChildProcess[] = [];
  const { state, file } = useLab({
    inventory: LAB,
    tmpPrefix: "state",
    skip,
    beforeDown: () => {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    },
  });
  let store: StateEtcd;
  const key = newStateKey();
  const prefix = "/yagura";
  const keys = stateKeys(prefix, ENV);
  /** Files of the local PKI directory other than the lab's issued host keys. */
  const localPki = () => {
    const dir = envPaths(ENV, state).pkiDir;
    return existsSync(dir) ? readdirSync(dir).filter((f) => !/^ssh-host-[^/]+\.(key|pub)$/.test(f)) : [];
  };

  beforeAll(async () => {
    store = await startStateEtcd();
  });
  afterAll(async () => {
    await store?.stop();
  });

  const stateFlags = () => [
    `--state=etcd://${store.hostPort}?ttl=${TTL}s`,
    `--state-ca=${store.tls.ca}`,
    `--state-cert=${store.tls.cert}`,
    `--state-key=${store.tls.key}`,
  ];
  const start = (args: string[]) =>
    spawn(process.execPath, ["--import", "tsx", join(ROOT, "src/cli/main.ts"), ...args], {
      cwd: ROOT,
      env: { ...process.env, YAGURA_STATE_DIR: state, YAGURA_STATE_KEY: key, NODE_NO_WARNINGS: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
  /** One CLI command to its end. */
  const run = (args: string[]) =>
    new Promise<{ code: number | null; out: string }>((res) => {
      const c = start(args);
      let out = "";
      c.stdout!.on("data", (d: Buffer) => (out += d.toString()));
      c.stderr!.on("data", (d: Buffer) => (out += d.toString()));
      c.on("close", (code) => res({ code, out }));
    });
  const watcher = (): Watcher => {
    const child = start(["reconcile", file, "--watch", "--interval", "3s", "--scope", "etcd", ...stateFlags()]);
    children.push(child);
    const w: Watcher = {
      child,
      out: "",
      exited: new Promise((res) => child.on("close", (code) => res(code))),
    };
    child.stdout!.on("data", (d: Buffer) => (w.out += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (w.out += d.toString()));
    return w;
  };
  const records = () => readEtcdRecords(store.raw, keys.records);
  const tokenOf = (w: Watcher) => Number(/^leading .* with token (\d+)/m.exec(w.out)?.[1]);

  it("one leads and acts, kill -9 hands over within the lease, a late write is refused, a lost lead is regained", async () => {
    const pair = [watcher(), watcher()];
    const both = () => pair.map((w) => w.out).join("\n----\n");
    expect(await until(120_000, () => pair.some((w) => /watch pass \d+: completed/.test(w.out))), both()).toBe(true);

    // Exactly one leads; the other stands by and has run nothing.
    const leaders = pair.filter((w) => /^leading /m.test(w.out));
    expect(leaders.length, both()).toBe(1);
    const [a, b] = leaders[0] === pair[0] ? [pair[0]!, pair[1]!] : [pair[1]!, pair[0]!];
    expect(b.out, both()).toMatch(/standing by: s88 is led by .+ \(token \d+\)/);
    expect(b.out).not.toMatch(/watch pass/);
    const aToken = tokenOf(a);
    const acted = await records();
    expect(acted.length).toBeGreaterThan(0);
    expect(new Set(acted.map((r) => `${r.holder} ${r.token}`))).toEqual(
      new Set([`${hostname()}:${a.child.pid} ${aToken}`]),
    );
    expect(acted.map((r) => r.op)).toContain("etcd-bootstrap");
    // The PKI lives sealed in the store, not on this machine (the lab, standing in for the stack,
    // keeps the host keys it issued to its nodes here: it has no --state).
    expect(localPki()).toEqual([]);
    const sealed = await store.raw.getAll().prefix(keys.secrets).buffers();
    expect(Object.keys(sealed)).toContain(`${keys.secrets}etcd-peer-ca.key`);
    for (const v of Object.values(sealed)) expect(v.toString("latin1")).not.toContain("PRIVATE KEY");

    // kill -9 the leader: the standby leads within the lease.
    a.child.kill("SIGKILL");
    await a.exited;
    const killedAt = Date.now();
    expect(await until((TTL + 30) * 1000, () => /^leading .* after .*\(token \d+\)/m.test(b.out)), both()).toBe(true);
    const handoverS = (Date.now() - killedAt) / 1000;
    console.log(
      `state e2e: kill -9 of the leading watcher → the standby leads after ${handoverS.toFixed(1)} s (lease ttl ${TTL} s)`,
    );
    const bToken = tokenOf(b);
    expect(bToken).toBeGreaterThan(aToken);

    // The new leader acts: a stopped etcd is repaired by it, under its token.
    expect(await until(60_000, () => /watch pass \d+: completed/.test(b.out)), b.out).toBe(true);
    const down = await labExec(ENV, "node1", "sv -w 10 down /etc/service/etcd", { stateRoot: state });
    expect(down.code, down.stderr).toBe(0);
    const stoppedAt = Date.now();
    const repairedBy = async () =>
      (await records()).find(
        (r) => r.op === "etcd-start" && r.status === "succeeded" && Date.parse(r.startedAt) >= stoppedAt - 1000,
      );
    expect(await until(60_000, async () => (await repairedBy()) !== undefined), b.out).toBe(true);
    const rep = (await repairedBy())!;
    expect([rep.holder, rep.token]).toEqual([`${hostname()}:${b.child.pid}`, bToken]);
    console.log(
      `state e2e: etcd stopped → repaired by the new leader in ${((Date.now() - stoppedAt) / 1000).toFixed(1)} s`,
    );

    // The old leader's token, kept by a client that missed its lease running out: refused.
    const late = stateClient([`https://${store.hostPort}`], store.tls);
    try {
      const w = etcdRecordWriter({
        client: late,
        recordsPrefix: keys.records,
        leaderKey: keys.leader,
        token: aToken,
        holder: `${hostname()}:${a.child.pid}`,
        checkLeader: () => undefined,
      });
      const before = (await records()).length;
      w.start("etcd-restart", ["node1"], "late");
      await expect(w.fence()).rejects.toBeInstanceOf(LostLeadershipError);
      await expect(w.fence()).rejects.toThrow(
        new RegExp(`token ${aToken}\\) is gone; it is led by .+ \\(token ${bToken}\\)`),
      );
      const after = await records();
      expect(after.length).toBe(before);
      expect(after.some((r: OpRecord) => r.phase === "late")).toBe(false);
    } finally {
      late.close();
    }

    // The lead lost under a running watch (its key deleted): it stops acting and campaigns again.
    await store.raw.delete().key(keys.leader);
    const lostLead = /lost the lead: .*leader key .* was deleted.*; standing by to lead again/;
    expect(await until(30_000, () => lostLead.test(b.out)), b.out).toBe(true);
    const tokens = () => [...b.out.matchAll(/^leading .* with token (\d+)/gm)].map((m) => Number(m[1]));
    expect(await until(30_000, () => tokens().length === 2), b.out).toBe(true);
    expect(tokens()[1]).toBeGreaterThan(bToken);
    expect(
      await until(30_000, () => /watch pass \d+: completed[^]*$/.test(b.out.split(lostLead)[1] ?? "")),
      b.out,
    ).toBe(true);

    // status and history read the shared state too; nothing of the PKI lands on this machine.
    const status = await run(["status", file, ...stateFlags()]);
    expect(status.code, status.out).toBe(0);
    expect(status.out).toMatch(/^etcd\n(.*\n)*\s+✓ /m);
    const history = await run(["history", file, "--limit", "100", ...stateFlags()]);
    expect(history.out).toMatch(new RegExp(`succeeded etcd-start \\[node1\\] .* by ${hostname()}:${b.child.pid}`));
    expect(localPki()).toEqual([]);

    // A third instance stands by; SIGTERM ends it cleanly without it ever leading.
    const c = watcher();
    expect(await until(30_000, () => /standing by: s88 is led by/.test(c.out)), c.out).toBe(true);
    c.child.kill("SIGTERM");
    expect(await c.exited, c.out).toBe(0);
    expect(c.out).toMatch(/stopped by a signal while standing by; this instance never led/);

    // SIGTERM: the leader finishes, resigns (the leader key goes at once) and exits 0.
    b.child.kill("SIGTERM");
    expect(await b.exited, b.out).toBe(0);
    expect(await store.raw.get(keys.leader).string()).toBeNull();
  }, 480_000);
});
