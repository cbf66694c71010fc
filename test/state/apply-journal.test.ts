/**
 * The apply journal in the etcd state backend, against a real etcd on loopback: what a holder
 * killed mid-step journaled is read by the next holder, in the order etcd wrote it; a holder that
 * lost the lead cannot append, and a stale token is refused by the store itself.
 */
import { describe, expect, it } from "vitest";
import { journalWriter, openApply } from "../../src/rebuild/journal.js";
import { stateClient } from "../../src/state/etcd/client.js";
import { etcdJournal, readEtcdJournal } from "../../src/state/etcd/journal.js";
import { stateKeys } from "../../src/state/location.js";
import { LostLeadershipError } from "../../src/state/index.js";
import { until } from "../e2e/helpers.js";
import { stateEtcdSkipReason } from "./state-etcd.js";
import { throws, useStateStore } from "./store-fixture.js";

const skip = stateEtcdSkipReason();
if (skip) console.warn(skip.replace("state tests", "apply journal tests"));

const TTL = 3;

describe.skipIf(skip !== undefined)("apply journal in the etcd state backend (real etcd)", () => {
  const { store, backend, ...s } = useStateStore(TTL);
  const prefix = () => s.prefix("j");

  it("the next holder reads what a holder killed mid-step journaled, and carries the apply on", async () => {
    const p = prefix();
    const { child, out, exited } = s.instance(
      "journal-holder.ts",
      `etcd://${store().hostPort}?ttl=${TTL}s&prefix=${p}`,
    );
    let m: RegExpExecArray | null = null;
    await until(20_000, () => (m = /^journaled (\d+) (\S+)$/m.exec(out())) !== null || child.exitCode !== null);
    expect(m, out()).not.toBeNull();
    const [oldToken, applyId] = [Number(m![1]), m![2]!];

    const standby = backend(p).acquire({ waitMs: Infinity });
    child.kill("SIGKILL");
    await exited;
    const b = await standby;
    expect(b.token).toBeGreaterThan(oldToken);
    const open = openApply(await b.journal.read())!;
    expect(open.applyId).toBe(applyId);
    expect(open.inventorySha).toBe("sha-1");
    expect([...open.finished]).toEqual(["1-etcd-leave-cp3"]);
    expect(open.last).toEqual({ stepId: "2-reimage-cp3", status: "started" });
    expect(open.steps.find((s) => !open.finished.has(s.id))?.id).toBe("2-reimage-cp3");

    // The new holder resumes: its entries follow the old ones under its own token.
    const j = journalWriter(b.journal, b.token);
    await j.step(applyId, "2-reimage-cp3", "started");
    await j.step(applyId, "2-reimage-cp3", "done", "cp3: wiped");
    const lines = await backend(p).readJournal();
    expect(lines.map((l) => [l.type, l.type === "step" ? `${l.stepId} ${l.status}` : "", l.token])).toEqual([
      ["plan", "", oldToken],
      ["step", "1-etcd-leave-cp3 started", oldToken],
      ["step", "1-etcd-leave-cp3 done", oldToken],
      ["step", "2-reimage-cp3 started", oldToken],
      ["step", "2-reimage-cp3 started", b.token],
      ["step", "2-reimage-cp3 done", b.token],
    ]);
    expect([...openApply(lines)!.finished]).toEqual(["1-etcd-leave-cp3", "2-reimage-cp3"]);
    await j.end(applyId, "completed");
    expect(openApply(await b.journal.read())).toBeUndefined();
    await b.close();
  }, 60_000);

  it("a holder that lost the lead cannot append; a stale token is refused by the store", async () => {
    const p = prefix();
    const keys = stateKeys(p, "env1");
    const a = await backend(p).acquire();
    const ja = journalWriter(a.journal, a.token);
    const applyId = await ja.begin("sha-a", [{ id: "1-reconcile", action: "reconcile", nodes: [], why: "" }]);
    // The lease is gone (an operator, a partition that outlived the ttl): another instance leads.
    await store().raw.delete().key(keys.leader);
    await until(5000, () => throws(() => a.check()));
    await expect(ja.step(applyId, "1-reconcile", "started")).rejects.toBeInstanceOf(LostLeadershipError);
    const b = await backend(p).acquire({ waitMs: 10_000 });

    // A process that missed all of that still holds the old token and skips its own check: the
    // transaction's compare refuses it, and after one refusal the store refuses everything.
    const late = stateClient([`https://${store().hostPort}`], store().tls);
    try {
      const stale = etcdJournal({
        client: late,
        journalPrefix: keys.journal,
        leaderKey: keys.leader,
        token: a.token,
        checkLeader: () => undefined,
      });
      const at = new Date().toISOString();
      const line = { type: "step", applyId, stepId: "1-reconcile", status: "done", at, token: a.token } as const;
      await expect(stale.append(line)).rejects.toThrow(
        new RegExp(`leadership \\(token ${a.token}\\) is gone; it is led by .+ \\(token ${b.token}\\)`),
      );
      await expect(stale.append(line)).rejects.toBeInstanceOf(LostLeadershipError);
    } finally {
      late.close();
    }
    const lines = await readEtcdJournal(store().raw, keys.journal);
    expect(lines.map((l) => [l.type, l.token])).toEqual([["plan", a.token]]);
    // The new holder sees the open apply and can end it.
    const open = openApply(await b.journal.read())!;
    expect(open.applyId).toBe(applyId);
    await journalWriter(b.journal, b.token).end(applyId, "abandoned");
    expect(openApply(await b.journal.read())).toBeUndefined();
    await b.close();
    await a.close();
  }, 30_000);

  it("reads entries in the order etcd created them, not by key", async () => {
    const p = prefix();
    const keys = stateKeys(p, "env1");
    const at = new Date().toISOString();
    // Keys that sort backwards, as a holder whose token or counter sorts lower might write.
    await store()
      .raw.put(`${keys.journal}b`)
      .value(JSON.stringify({ type: "plan", applyId: "x", at, token: 9 }));
    await store()
      .raw.put(`${keys.journal}a`)
      .value(JSON.stringify({ type: "end", applyId: "x", at, token: 9 }));
    await store().raw.put(`${keys.journal}c`).value("not json");
    expect((await readEtcdJournal(store().raw, keys.journal)).map((l) => l.type)).toEqual(["plan", "end"]);
  });
});
