/**
 * The lab's sshd readiness wait against a fake node watch and a fake clock: it probes only nodes
 * that listen, never more than one probe per node, fails at once on a dead node or an sshd that
 * keeps exiting, and reports a timeout as an operation failure that names what it saw.
 */
import { describe, expect, it } from "vitest";
import { describeError, EXIT, OperationFailedError } from "../../src/cli/errors.js";
import { backoff } from "../../src/lab/backoff.js";
import { awaitSshd, listensOn, type NodeWatch, type WaitNode } from "../../src/lab/sshd-wait.js";
import type { BannerResult } from "../../src/lab/ssh.js";

const nodes: WaitNode[] = ["a", "b", "c"].map((n, i) => ({
  name: n,
  address: `10.92.0.${11 + i}`,
  pid1: 100 + i,
  dir: `/state/lab/nodes/${n}`,
}));

/** A node as the fake watch shows it; every field may change between looks. */
interface FakeNode {
  alive: boolean;
  sshdPid?: number;
  listening: boolean;
  /** Answers to successive probes; the last one repeats. */
  answers: BannerResult[];
  probes: number;
  inFlight: number;
  maxInFlight: number;
}

function fakeLab(init: Partial<Record<string, Partial<FakeNode>>> = {}) {
  const state: Record<string, FakeNode> = Object.fromEntries(
    nodes.map((n) => [
      n.name,
      {
        alive: true,
        sshdPid: 500,
        listening: true,
        answers: [{ ok: true }],
        probes: 0,
        inFlight: 0,
        maxInFlight: 0,
        ...init[n.name],
      } as FakeNode,
    ]),
  );
  let clock = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const looks: string[] = [];
  const watch: NodeWatch = {
    pid1Alive: (n) => (looks.push(n.name), state[n.name]!.alive),
    sshd: (n) => ({ pid: state[n.name]!.sshdPid, listening: state[n.name]!.listening }),
    banner: async (n, _timeoutMs, signal) => {
      const s = state[n.name]!;
      const r = s.answers[Math.min(s.probes, s.answers.length - 1)]!;
      s.probes++;
      s.maxInFlight = Math.max(s.maxInFlight, ++s.inFlight);
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      await new Promise((res) => setTimeout(res, 1));
      s.inFlight--;
      inFlight--;
      return signal.aborted ? { ok: false, why: "wait abandoned" } : r;
    },
    console: (n) => `${n.name}: node-init: mount: permission denied\nlast line`,
  };
  return {
    state,
    watch,
    looks,
    maxInFlight: () => maxInFlight,
    opts: {
      env: "t",
      limitMs: 60_000,
      watch,
      now: () => clock,
      // The fake clock moves by each delay; a macrotask keeps the other watches going meanwhile.
      sleep: async (ms: number) => {
        clock += ms;
        await new Promise((r) => setImmediate(r));
      },
    },
  };
}

const refused: BannerResult = { ok: false, why: "connection refused" };

describe("backoff", () => {
  it("grows by its factor up to the cap, each delay between half and all of its step", () => {
    const low = backoff({ initialMs: 100, maxMs: 1000, random: () => 0 });
    const high = backoff({ initialMs: 100, maxMs: 1000, random: () => 0.999 });
    expect(Array.from({ length: 6 }, low)).toEqual([50, 100, 200, 400, 500, 500]);
    expect(Array.from({ length: 6 }, high)).toEqual([100, 200, 400, 800, 1000, 1000]);
  });
});

describe("listensOn", () => {
  const table = [
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
    "   0: 0B005C0A:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1",
    "   1: 0B005C0A:0016 01005C0A:C350 01 00000000:00000000 00:00000000 00000000     0        0 2 1",
    "   2: 0100007F:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 3 1",
  ].join("\n");
  it("finds a socket in LISTEN on the port, not a connection to it", () => {
    expect(listensOn(table, 22)).toBe(true);
    expect(listensOn(table, 3306)).toBe(true);
    expect(listensOn(table.split("\n").slice(0, 1).concat(table.split("\n")[2]!).join("\n"), 22)).toBe(false);
    expect(listensOn(table, 2379)).toBe(false);
  });
});

describe("awaitSshd", () => {
  it("probes a node only once it listens, one probe at a time per node, a few for the lab", async () => {
    const lab = fakeLab({
      a: { listening: false },
      b: { answers: [refused, { ok: false, why: "connected, but no banner within 10 s" }, { ok: true }] },
    });
    let looksAtA = 0;
    const pid1Alive = lab.watch.pid1Alive;
    lab.watch.pid1Alive = (n) => {
      // node a starts listening after a few looks, as sshd comes up under runit
      if (n.name === "a" && ++looksAtA === 4) lab.state.a!.listening = true;
      return pid1Alive(n);
    };
    await awaitSshd(nodes, { ...lab.opts, maxProbes: 2 });
    expect(lab.state.a!.probes).toBe(1);
    expect(lab.state.b!.probes).toBe(3);
    expect(lab.state.c!.probes).toBe(1);
    for (const n of Object.values(lab.state)) expect(n.maxInFlight).toBe(1);
    expect(lab.maxInFlight()).toBeLessThanOrEqual(2);
  });

  it("fails at once on a node whose PID 1 is gone, with its console, and stops watching the others", async () => {
    const lab = fakeLab({ b: { alive: false }, c: { answers: [refused] } });
    const err = await awaitSshd(nodes, lab.opts).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OperationFailedError);
    const msg = (err as Error).message;
    expect(msg).toMatch(
      /^lab t: node b \(10\.92\.0\.12\) stopped while starting: its PID 1 \(runsvdir, pid 101\) is gone/,
    );
    expect(msg).toContain("/state/lab/nodes/b/console.log");
    expect(msg).toContain("b: node-init: mount: permission denied");
    expect(msg).toMatch(/try: `yagura lab up t` again/);
    // c never answers: without the fail-fast it would be probed until the 60 s limit
    expect(lab.state.c!.probes).toBeLessThan(3);
    expect(describeError(err).code).toBe(EXIT.failed);
  });

  it("gives up on a node whose sshd keeps exiting without ever listening", async () => {
    const lab = fakeLab({ c: { listening: false } });
    const sshd = lab.watch.sshd;
    let pid = 600;
    lab.watch.sshd = (n) => (n.name === "c" ? { pid: pid++, listening: false } : sshd(n));
    const err = await awaitSshd(nodes, lab.opts).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/node c .*its sshd keeps exiting \(runit started it 4 times/);
    expect(lab.state.c!.probes).toBe(0);
  });

  it("waits out a node that runs but does not answer, then names it and what it saw", async () => {
    const slow: BannerResult = { ok: false, why: "connected, but no banner within 10 s" };
    const lab = fakeLab({ a: { answers: [slow] }, c: { sshdPid: undefined, listening: false } });
    const err = await awaitSshd(nodes, { ...lab.opts, limitMs: 30_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OperationFailedError);
    const msg = (err as Error).message;
    expect(msg).toMatch(
      /^lab t: sshd did not answer on 2 of 3 node\(s\) within 3\d s, though their PID 1 still runs \(load average/,
    );
    expect(msg).toContain(
      "a (10.92.0.11): sshd (pid 500) listens on port 22; last probe: connected, but no banner within 10 s",
    );
    expect(msg).toContain("c (10.92.0.13): PID 1 runs; runit has not started sshd yet");
    expect(msg).not.toMatch(/\bb \(/);
    expect(msg).toMatch(/try: `yagura lab up t` again once the machine is less busy/);
    expect(describeError(err).code).toBe(EXIT.failed);
  });

  it("backs off between looks at a node that is still starting", async () => {
    const lab = fakeLab({ c: { sshdPid: undefined, listening: false } });
    await expect(awaitSshd([nodes[2]!], { ...lab.opts, limitMs: 30_000 })).rejects.toThrow(/did not answer on 1 of 1/);
    // 30 s in a few dozen looks (100 ms growing to 2 s, jittered), where a 50 ms poll looked 600 times
    expect(lab.looks.length).toBeGreaterThan(15);
    expect(lab.looks.length).toBeLessThan(40);
  });
});
