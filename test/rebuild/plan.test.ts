/** The rebuild planner as tables: inventory + what exists + observed cluster → steps or refusals. */
import { describe, expect, it } from "vitest";
import { planRebuild } from "../../src/rebuild/plan.js";
import type { EtcdMemberStatus } from "../../src/cluster/status.js";
import { actions, built, cp, labSpec, member, names, observed, w, type LabNode } from "./fixtures.js";

/** Shrinking cp1–cp5 to cp1–cp3: one member leaves at a time, then both nodes are released. */
const SHRINK_5_TO_3 = [
  "drain cp4",
  "etcd-leave cp4",
  "drain cp5",
  "etcd-leave cp5",
  "release cp4+cp5",
  "reconcile",
  "record-built",
];

describe("planRebuild: order", () => {
  const cases: {
    name: string;
    want: LabNode[];
    had: LabNode[];
    members: string[];
    opts?: { minReady?: number; maxConcurrent?: number };
    steps: string[];
  }[] = [
    {
      name: "nothing changed: reconcile and record",
      want: [...cp(3), ...w(2)],
      had: [...cp(3), ...w(2)],
      members: names("cp", 3),
      steps: ["reconcile", "record-built"],
    },
    {
      name: "grow the control plane 3→5: the ladder adds learners one per pass",
      want: cp(5),
      had: cp(3),
      members: names("cp", 3),
      steps: ["reconcile cp4+cp5", "record-built"],
    },
    {
      name: "shrink 5→3: one member at a time, then the lab nodes are released",
      want: cp(3),
      had: cp(5),
      members: names("cp", 5),
      steps: SHRINK_5_TO_3,
    },
    {
      name: "replace a control-plane node: leave, reimage, rejoin",
      want: [{ name: "cp1" }, { name: "cp2", token: "r1" }, { name: "cp3" }],
      had: cp(3),
      members: names("cp", 3),
      steps: ["drain cp2", "etcd-leave cp2", "reimage cp2", "reconcile cp2", "uncordon cp2", "record-built"],
    },
    {
      name: "replace two workers in one batch (maxConcurrentUpdates 3)",
      want: [...cp(3), { name: "w1", token: "a" }, { name: "w2", token: "a" }, { name: "w3" }],
      had: [...cp(3), ...w(3)],
      members: names("cp", 3),
      steps: ["drain w1+w2", "reimage w1+w2", "reconcile w1+w2", "uncordon w1+w2", "record-built"],
    },
    {
      name: "replace two workers one at a time when minReadyWorkers leaves a budget of 1",
      want: [...cp(3), { name: "w1", token: "a" }, { name: "w2", token: "a" }, { name: "w3" }],
      had: [...cp(3), ...w(3)],
      members: names("cp", 3),
      opts: { minReady: 2 },
      steps: [
        ...["drain w1", "reimage w1", "reconcile w1", "uncordon w1"],
        ...["drain w2", "reimage w2", "reconcile w2", "uncordon w2"],
        "record-built",
      ],
    },
    {
      name: "adds before replaces before removes",
      want: [{ name: "cp1", token: "x" }, { name: "cp2" }, { name: "cp3" }, { name: "w2" }],
      had: [...cp(3), { name: "w1" }],
      members: names("cp", 3),
      steps: [
        "reconcile w2",
        ...["drain cp1", "etcd-leave cp1", "reimage cp1", "reconcile cp1", "uncordon cp1"],
        "drain w1",
        "release w1",
        "reconcile",
        "record-built",
      ],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const spec = labSpec(c.want, c.opts);
      const p = planRebuild({
        spec,
        existing: built(c.had),
        status: observed(
          spec,
          c.members.map((m) => member(m)),
        ),
      });
      expect(p.refusals).toEqual([]);
      expect(actions(p)).toEqual(c.steps);
      expect(new Set(p.steps.map((s) => s.id)).size).toBe(p.steps.length);
    });
  }

  it("a learner left by a grow cut short takes no vote away: shrinking past it is not half the voters", () => {
    const spec = labSpec(cp(3));
    const p = planRebuild({
      spec,
      existing: built(cp(5)),
      status: observed(spec, [...names("cp", 4).map((m) => member(m)), member("cp5", true, true)]),
    });
    // cp4 is one of 4 voters; cp5 is a learner.
    expect(p.refusals).toEqual([]);
    expect(actions(p)).toEqual(SHRINK_5_TO_3);
    // Two voters of four are still half.
    const two = planRebuild({
      spec: labSpec(cp(2)),
      existing: built(cp(5)),
      status: observed(labSpec(cp(2)), [...names("cp", 4).map((m) => member(m)), member("cp5", true, true)]),
    });
    expect(two.refusals.map((r) => r.reason).join("\n")).toMatch(
      /removes 2 of 4 control-plane members at once \(cp3, cp4\): half or more/,
    );
  });

  it("a node with no build record is taken as built from the inventory, and said so", () => {
    const spec = labSpec([{ name: "cp1", token: "t" }, ...cp(3).slice(1)]);
    const p = planRebuild({
      spec,
      existing: [],
      status: observed(
        spec,
        names("cp", 3).map((m) => member(m)),
      ),
    });
    expect(p.changes).toEqual([]);
    expect(p.notes.join("\n")).toMatch(/no record of how cp1, cp2, cp3 were built/);
  });
});

describe("planRebuild: refusals say why and what to do instead", () => {
  const cases: {
    name: string;
    want: LabNode[];
    had: LabNode[];
    members: EtcdMemberStatus[];
    down?: string[];
    opts?: { minReady?: number };
    reason: RegExp;
    alternative: RegExp;
  }[] = [
    {
      name: "removing half or more of the control plane at once (3→1)",
      want: cp(1),
      had: cp(3),
      members: names("cp", 3).map((n) => member(n)),
      reason: /removes 2 of 3 control-plane members at once/,
      alternative: /remove at most 1 now/,
    },
    {
      name: "replacing a member while another is unhealthy loses quorum",
      want: [{ name: "cp1", token: "r" }, { name: "cp2" }, { name: "cp3" }],
      had: cp(3),
      members: [member("cp1"), member("cp2"), member("cp3", false)],
      reason: /replacing cp1 leaves 1 healthy of 2 voters, below the quorum of 2/,
      alternative: /repair the unhealthy members first/,
    },
    {
      name: "replacing the only voter",
      want: [{ name: "cp1", token: "r" }],
      had: cp(1),
      members: [member("cp1")],
      reason: /the only etcd voter/,
      alternative: /grow the control plane to 3 first/,
    },
    {
      name: "removing a member while another is unhealthy (5→3 with one of the kept ones down)",
      want: cp(3),
      had: cp(5),
      members: [member("cp1"), member("cp2", false), member("cp3", false), member("cp4"), member("cp5")],
      reason: /removing cp4 leaves 2 healthy of 4 voters, below the quorum of 3/,
      alternative: /repair the unhealthy members first/,
    },
    {
      name: "etcd not observable while the control plane changes",
      want: [{ name: "cp1", token: "r" }, { name: "cp2" }, { name: "cp3" }],
      had: cp(3),
      members: [],
      reason: /etcd did not answer/,
      alternative: /repair etcd first/,
    },
    {
      name: "replacing workers below minReadyWorkers",
      want: [...cp(3), { name: "w1", token: "a" }, { name: "w2" }],
      had: [...cp(3), ...w(2)],
      members: names("cp", 3).map((n) => member(n)),
      opts: { minReady: 2 },
      reason: /would leave fewer than 2 Ready workers \(2 Ready now\)/,
      alternative: /add workers first/,
    },
    {
      name: "an unreachable worker does not count as Ready without an API",
      want: [...cp(3), { name: "w1", token: "a" }, { name: "w2" }, { name: "w3" }],
      had: [...cp(3), ...w(3)],
      members: names("cp", 3).map((n) => member(n)),
      down: ["w3"],
      opts: { minReady: 2 },
      reason: /fewer than 2 Ready workers \(2 Ready now\)/,
      alternative: /lower cluster.minReadyWorkers to 1/,
    },
    {
      name: "removing workers below minReadyWorkers",
      want: [...cp(3), ...w(1)],
      had: [...cp(3), ...w(2)],
      members: names("cp", 3).map((n) => member(n)),
      opts: { minReady: 2 },
      reason: /keeps 1 worker\(s\), fewer than cluster.minReadyWorkers 2, yet removes w2/,
      alternative: /keep at least 2 workers/,
    },
    {
      name: "a static machine outside the lab cannot be rebuilt",
      want: [...cp(3), { name: "w1", token: "a", kind: "vm" }],
      had: [...cp(3), ...w(1)],
      members: names("cp", 3).map((n) => member(n)),
      reason: /w1 is a static vm node/,
      alternative: /reinstall w1 yourself/,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const spec = labSpec(c.want, c.opts);
      const p = planRebuild({ spec, existing: built(c.had), status: observed(spec, c.members, c.down) });
      expect(p.steps).toEqual([]);
      expect(p.refusals.map((r) => r.reason).join("\n")).toMatch(c.reason);
      expect(p.refusals.map((r) => r.alternative).join("\n")).toMatch(c.alternative);
    });
  }
});
