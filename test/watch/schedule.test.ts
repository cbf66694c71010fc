/** The watch schedule with a fake clock: jitter, backoff, inventory changes and stop signals. */
import { describe, expect, it } from "vitest";
import type { LoopDeps } from "../../src/run/loop.js";
import { memoryRecords } from "../run/fakes.js";
import {
  backoffDelay,
  jitteredDelay,
  startWatch,
  stoppable,
  StopRequested,
  type PassOutcome,
  type Reload,
  type Watch,
  type WatchDeps,
} from "../../src/run/watch.js";

const MIN = 60_000;
const flush = async () => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

/** A watch over string "specs" whose passes follow `script`; the pass after the script sends SIGTERM. */
function harness(script: PassOutcome[], o: { sleepUntilWoken?: boolean; reload?: Reload<string> } = {}) {
  let clock = 1_000_000;
  const sleeps: number[] = [];
  const specs: string[] = [];
  const logs: string[] = [];
  const exits: string[] = [];
  const h = { sleeps, specs, logs, exits, watch: undefined as unknown as Watch, reload: o.reload };
  const deps: WatchDeps<string> = {
    initial: "v1",
    reload: () => h.reload ?? { ok: true, spec: "v2" },
    intervalMs: () => MIN,
    async runPass(spec) {
      specs.push(spec);
      const outcome = script.shift();
      if (outcome === undefined) {
        h.watch.signal("SIGTERM");
        return { outcome: "completed", message: "done" };
      }
      return { outcome, message: outcome };
    },
    now: () => clock,
    sleep(ms, signal) {
      sleeps.push(ms);
      if (!o.sleepUntilWoken) {
        clock += ms;
        return Promise.resolve();
      }
      return new Promise((res) => signal.addEventListener("abort", () => res()));
    },
    random: () => 0.5,
    log: (l) => logs.push(l),
    exitNow: (s) => exits.push(s),
  };
  h.watch = startWatch(deps, { backoffBaseMs: 5000 });
  return h;
}

describe("watch schedule", () => {
  it.each([
    [0, 54_000],
    [0.5, 60_000],
    [0.999999, 66_000],
  ])("jitter with random %s stays within ±10%% of the interval (%s ms)", (r, want) => {
    expect(jitteredDelay(MIN, () => r)).toBe(want);
  });

  it("jitter never leaves [0.9, 1.1] of the interval", () => {
    for (let i = 0; i <= 100; i++) {
      const d = jitteredDelay(MIN, () => i / 100);
      expect(d).toBeGreaterThanOrEqual(54_000);
      expect(d).toBeLessThanOrEqual(66_000);
    }
  });

  it("backs off 5s, 10s, 20s, 40s then stays at the interval; a success resets it", async () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, 5000, MIN))).toEqual([5000, 10_000, 20_000, 40_000, MIN, MIN]);
    const h = harness(["failed", "error", "failed", "failed", "failed", "failed", "completed", "failed"]);
    const r = await h.watch.done;
    expect(h.sleeps).toEqual([5000, 10_000, 20_000, 40_000, MIN, MIN, MIN, 5000]);
    expect(r).toEqual({ passes: 9, stoppedBy: "SIGTERM" });
  });

  it("a stuck pass waits the normal interval: retrying sooner would not unstick it", async () => {
    const h = harness(["stuck", "stuck"]);
    await h.watch.done;
    expect(h.sleeps).toEqual([MIN, MIN]);
  });

  it("an inventory change cuts the sleep short and the next pass uses the reloaded spec", async () => {
    const h = harness(["completed"], { sleepUntilWoken: true });
    await flush();
    expect(h.specs).toEqual(["v1"]);
    expect(h.sleeps).toEqual([MIN]);
    h.watch.inventoryChanged();
    const r = await h.watch.done;
    expect(h.specs).toEqual(["v1", "v2"]);
    expect(r.passes).toBe(2);
    expect(h.logs.join("\n")).toMatch(/inventory changed: reloaded/);
  });

  it("an edit during a pass makes the next pass start at once, without sleeping", async () => {
    const h = harness(["completed"]);
    const first = h.watch;
    first.inventoryChanged(); // arrives while pass 1 runs
    await first.done;
    expect(h.specs).toEqual(["v1", "v2"]);
    expect(h.sleeps).toEqual([]);
  });

  it("an invalid edit is logged with its problems and the old spec is kept", async () => {
    const h = harness(["completed"], {
      sleepUntilWoken: true,
      reload: { ok: false, problems: ["e1.yaml:3:5 cluster.name: required"] },
    });
    await flush();
    h.watch.inventoryChanged();
    await h.watch.done;
    expect(h.specs).toEqual(["v1", "v1"]);
    expect(h.logs.join("\n")).toMatch(/invalid; keeping the previous spec:\n {2}e1\.yaml:3:5 cluster\.name: required/);
  });
});

describe("watch stop signals", () => {
  /** A watch whose single pass waits until the test resolves it. */
  function blocked() {
    let finish!: () => void;
    let stopAsked: () => boolean = () => false;
    const exits: string[] = [];
    const passes: number[] = [];
    const w = startWatch<string>({
      initial: "v1",
      reload: () => ({ ok: true, spec: "v1" }),
      intervalMs: () => MIN,
      runPass(_spec, shouldStop) {
        passes.push(passes.length + 1);
        stopAsked = shouldStop;
        return new Promise((res) => (finish = () => res({ outcome: "completed", message: "done" })));
      },
      now: () => 0,
      sleep: () => Promise.resolve(),
      random: () => 0.5,
      log: () => undefined,
      exitNow: (s) => exits.push(s),
    });
    return { w, exits, passes, finish: () => finish(), stopAsked: () => stopAsked() };
  }

  it("SIGTERM lets the pass in hand finish, then stops without another pass", async () => {
    const b = blocked();
    await flush();
    expect(b.stopAsked()).toBe(false);
    b.w.signal("SIGTERM");
    expect(b.stopAsked()).toBe(true);
    b.finish();
    expect(await b.w.done).toEqual({ passes: 1, stoppedBy: "SIGTERM" });
    expect(b.passes).toEqual([1]);
    expect(b.exits).toEqual([]);
  });

  it("a second signal exits at once", async () => {
    const b = blocked();
    await flush();
    b.w.signal("SIGTERM");
    b.w.signal("SIGINT");
    expect(b.exits).toEqual(["SIGINT"]);
  });
});

describe("stoppable loop deps", () => {
  function fakeDeps() {
    const { lines, w: records } = memoryRecords();
    const deps = {
      records,
      prepare: () => Promise.resolve({}),
    } as unknown as LoopDeps;
    return { deps, lines };
  }

  it("passes ops through until a stop is asked, then refuses the next op and the next pass", async () => {
    const f = fakeDeps();
    let stop = false;
    const s = stoppable(f.deps, () => stop);
    const rec = s.deps.records.start("etcd-start", ["node1"], "etcd-start");
    expect(s.inHand()?.rec.id).toBe(rec.id);
    stop = true;
    // The op in hand may still record its end.
    s.deps.records.update(rec, { status: "succeeded" });
    expect(s.inHand()).toBeUndefined();
    expect(() => s.deps.records.start("etcd-restart", ["node2"], "p")).toThrow(StopRequested);
    expect(() => s.deps.prepare(new Date())).toThrow(StopRequested);
    expect(f.lines.map((l) => `${l.op}:${l.status}`)).toEqual(["etcd-start:running", "etcd-start:succeeded"]);
  });
});
