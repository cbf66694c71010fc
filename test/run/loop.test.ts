import { describe, expect, it } from "vitest";
import { CommandError, type NodeShell } from "../../src/infra/types.js";
import { reconcileLoop, SETTLE_RETRY_MS, unreachableRetries, type LoopEvent } from "../../src/run/loop.js";
import { testDesired, testSpec } from "../decide/builder.js";
import { clientURL, peerURL } from "../../src/ops/etcd/layout.js";
import type { EtcdAdmin } from "../../src/infra/types.js";
import { convergedEtcdReport, deadEtcd, emptyNodeReport, memoryRecords, nope } from "./fakes.js";

const spec = testSpec(3);
const desired = testDesired(spec);

// Nodes that answer observe with "nothing of yagura's here" and fail every other command.
const shell: NodeShell = {
  roundTrips: new Map(),
  async exec(node) {
    const out = emptyNodeReport(spec, desired, node);
    return { code: 0, stdout: JSON.stringify(out), stderr: "" };
  },
  async run(node, command) {
    throw new CommandError(node, command, 1, "", "disk full");
  },
  upload: nope,
  close: async () => undefined,
};
const etcd = deadEtcd("refused");
/** reconciler.unreachableWait's default, 75 s. */
const DEFAULT_RETRIES = [5_000, 10_000, 20_000, 40_000];

describe("reconcile loop", () => {
  it("ends a pass at the first failure, re-observes, and gives up after the same op failed three times", async () => {
    const { lines, w } = memoryRecords();
    const events: LoopEvent[] = [];
    let opened = 0;
    const r = await reconcileLoop(
      {
        spec,
        prepare: async () => ({ desired, adminTls: { ca: "", cert: "", key: "" } }),
        open: () => (opened++, { shell, etcdAdmin: etcd, close: async () => undefined }),
        records: w,
        now: () => new Date("2026-01-01T00:00:00Z"),
        sleep: async () => undefined,
        progress: (e) => events.push(e),
      },
      { scope: "etcd", maxPasses: 10 },
    );
    expect(r).toMatchObject({ outcome: "failed", phase: "etcd-certs", passes: 3, opsRun: 3 });
    expect(r.message).toMatch(/write-etcd-certs@cp1.*disk full/s);
    expect(opened).toBe(3);
    const final = lines.filter((l) => l.status !== "running");
    expect(final.map((l) => [l.op, l.status, l.command])).toEqual(
      Array(3).fill(["etcd-certs", "failed", "write-etcd-certs@cp1"]),
    );
    expect(events.filter((e) => e.kind === "pass")).toHaveLength(3);
  });

  /** A loop whose control-plane nodes stay silent for `silentPasses` observations (or answer with another host key). */
  async function silentNodes(silentPasses: number, impostor = false, unreachableWait?: string) {
    const error = impostor ? "presented another host key" : "Timed out while waiting for handshake";
    let observations = 0;
    const sleeps: number[] = [];
    const events: LoopEvent[] = [];
    const flaky: NodeShell = {
      ...shell,
      async exec(node, command, opts) {
        if (node === "cp1") observations++;
        if (observations <= silentPasses)
          throw Object.assign(new Error(`${node}: ${error}`), impostor ? { name: "HostKeyMismatchError" } : {});
        return shell.exec(node, command, opts);
      },
    };
    const withWait = unreachableWait
      ? { ...spec, inventory: { ...spec.inventory, reconciler: { ...spec.inventory.reconciler, unreachableWait } } }
      : spec;
    const r = await reconcileLoop(
      {
        spec: withWait,
        prepare: async () => ({ desired, adminTls: { ca: "", cert: "", key: "" } }),
        open: () => ({ shell: flaky, etcdAdmin: etcd, close: async () => undefined }),
        records: memoryRecords().w,
        now: () => new Date("2026-01-01T00:00:00Z"),
        sleep: async (ms) => void sleeps.push(ms),
        progress: (e) => events.push(e),
      },
      { scope: "etcd", maxPasses: 10 },
    );
    return { r, sleeps, events, observations };
  }

  it("observes again, backing off, while nodes do not answer, and goes on once they do", async () => {
    const { r, sleeps, events } = await silentNodes(2);
    // Answering again, the nodes get their certificates (which this shell then fails to write).
    expect(r).toMatchObject({ outcome: "failed", phase: "etcd-certs" });
    expect(sleeps).toEqual(DEFAULT_RETRIES.slice(0, 2));
    expect(events.filter((e) => e.kind === "unreachable-retry")).toEqual([
      { kind: "unreachable-retry", nodes: ["cp1", "cp2", "cp3"], ms: DEFAULT_RETRIES[0] },
      { kind: "unreachable-retry", nodes: ["cp1", "cp2", "cp3"], ms: DEFAULT_RETRIES[1] },
    ]);
  });

  it("gives up, stuck, after its last retry; a node with another host key is not waited for", async () => {
    const silent = await silentNodes(100);
    expect(silent.r).toMatchObject({ outcome: "stuck", phase: "etcd-bootstrap-aborted" });
    expect(silent.sleeps).toEqual([...DEFAULT_RETRIES]);
    expect(silent.observations).toBe(DEFAULT_RETRIES.length + 1);
    const impostor = await silentNodes(100, true);
    expect(impostor.r).toMatchObject({ outcome: "stuck" });
    expect(impostor.sleeps).toEqual([]);
  });

  it("waits for unanswering nodes only as long as reconciler.unreachableWait says", async () => {
    expect(unreachableRetries(75_000)).toEqual(DEFAULT_RETRIES);
    expect(unreachableRetries(12_000)).toEqual([5_000, 7_000]);
    expect(unreachableRetries(200_000)).toEqual([5_000, 10_000, 20_000, 40_000, 80_000, 45_000]);
    expect(unreachableRetries(0)).toEqual([]);
    const none = await silentNodes(100, false, "0s");
    expect(none.r).toMatchObject({ outcome: "stuck", phase: "etcd-bootstrap-aborted" });
    expect(none.sleeps).toEqual([]);
    expect(none.observations).toBe(1);
    const short = await silentNodes(100, false, "12s");
    expect(short.sleeps).toEqual([5_000, 7_000]);
  });

  /**
   * cp1–cp3 run etcd as desired and cp4 is new; cp2 trails the leader by 400 entries for the
   * first `laggingPasses` observations (as a member just promoted on a busy machine can).
   */
  async function laggingMember(laggingPasses: number) {
    const grow = testSpec(4);
    const want = testDesired(grow);
    const members = ["cp1", "cp2", "cp3"].map((name) => {
      const n = grow.nodes.find((x) => x.name === name)!;
      return { id: `${name.slice(2)}`, name, peerURLs: [peerURL(n)], clientURLs: [clientURL(n)], isLearner: false };
    });
    let observations = 0;
    const admin = (): EtcdAdmin => ({
      ...deadEtcd("unused")(),
      members: async () => (observations++, members),
      endpointStatus: async (endpoint) => {
        const m = members.find((x) => x.clientURLs[0] === endpoint)!;
        const behind = m.name === "cp2" && observations <= laggingPasses;
        return { endpoint, healthy: true, memberId: m.id, leaderId: "1", raftAppliedIndex: behind ? 100 : 500 };
      },
      addLearner: async () => {
        throw new Error("etcdserver: too many learner members (the test stops here)");
      },
    });
    const nodes: NodeShell = {
      ...shell,
      async exec(node) {
        const out = convergedEtcdReport(grow, want, node, node !== "cp4");
        return { code: 0, stdout: out, stderr: "" };
      },
    };
    const events: LoopEvent[] = [];
    // The ops' polls wait on this clock too: it moves as they sleep.
    let t = Date.parse("2026-01-01T00:00:00Z");
    const r = await reconcileLoop(
      {
        spec: grow,
        prepare: async () => ({ desired: want, adminTls: { ca: "", cert: "", key: "" } }),
        open: () => ({ shell: nodes, etcdAdmin: admin, close: async () => undefined }),
        records: memoryRecords().w,
        now: () => new Date(t),
        sleep: async (ms) => void (t += ms),
        progress: (e) => events.push(e),
      },
      { scope: "etcd", maxPasses: 30 },
    );
    const sleeps = events.flatMap((e) => (e.kind === "settle-retry" ? [e.ms] : []));
    return { r, sleeps, events };
  }

  it("observes a settling cluster again soon (a member catching up) and goes on once it has", async () => {
    const { r, sleeps, events } = await laggingMember(2);
    expect(sleeps).toEqual(SETTLE_RETRY_MS.slice(0, 2));
    expect(events.filter((e) => e.kind === "settle-retry")).toEqual([
      { kind: "settle-retry", message: expect.stringMatching(/adding cp4 waits: members not in sync: cp2/), ms: 1_000 },
      { kind: "settle-retry", message: expect.stringMatching(/not in sync: cp2/), ms: 2_000 },
    ]);
    // Settled, the loop went on to add cp4 (which this etcd refuses).
    expect(r).toMatchObject({ outcome: "failed", phase: "etcd-add-member" });
    expect(r.message).toMatch(/too many learner members/);
  });

  it("a cluster that does not settle within a minute ends the reconcile with decide's reason", async () => {
    const { r, sleeps } = await laggingMember(1_000);
    expect(sleeps).toEqual([...SETTLE_RETRY_MS]);
    expect(sleeps.reduce((a, b) => a + b, 0)).toBe(60_000);
    expect(r).toMatchObject({ outcome: "stuck", phase: "etcd-maintenance-aborted" });
    expect(r.message).toMatch(/adding cp4 waits: members not in sync: cp2/);
  });
});
