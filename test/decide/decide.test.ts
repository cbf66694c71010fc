import { describe, expect, it } from "vitest";
import { decide } from "../../src/decide/index.js";
import type { ClusterSpec } from "../../src/cluster/spec.js";
import type { ClusterStatus } from "../../src/cluster/status.js";
import type { Inventory } from "../../src/inventory/schema.js";
import { ETCD } from "../../src/ops/etcd/layout.js";
import { statusBuilder, testDesired, testSpec } from "./builder.js";

const now = new Date("2026-01-02T03:04:05Z");

interface Case {
  name: string;
  spec: ClusterSpec;
  status: (b: ReturnType<typeof statusBuilder>) => ClusterStatus;
  phase: string;
  ops: string[];
  targets?: number[];
  message?: RegExp;
  /** Nothing runs only because the cluster is settling: the loop observes again soon. */
  settling?: true;
  scope?: "etcd" | "all";
}

const s3 = testSpec(3, 2);
const s4 = testSpec(3, 0, ["cp4"]);
const s2 = testSpec(2);
/** s3 with an hourly schedule and a retention of 2. */
const hourly: ClusterSpec = {
  ...s3,
  inventory: { reconciler: { backup: { schedule: "1h", retention: 2 } } } as unknown as Inventory,
};
const ago = (ms: number) => new Date(now.getTime() - ms).toISOString();
const MIN = 60_000;

const cases: Case[] = [
  {
    name: "prerequisites missing",
    spec: s3,
    status: (b) => b.missing("cp2", "/usr/bin/etcd (etcd-server)").build(),
    phase: "node-prerequisites-missing",
    ops: [],
    message: /cp2: install \/usr\/bin\/etcd/,
  },
  {
    name: "unreachable node's prerequisites are unknown, not missing",
    spec: s3,
    status: (b) => b.unreachable("w1").build(),
    phase: "etcd-certs",
    ops: ["etcd-certs"],
    targets: [3],
  },
  {
    name: "fresh cluster: certificates first",
    spec: s3,
    status: (b) => b.build(),
    phase: "etcd-certs",
    ops: ["etcd-certs"],
    targets: [3],
  },
  {
    name: "certs on unreachable node skipped",
    spec: s3,
    status: (b) => b.unreachable("cp3").build(),
    phase: "etcd-certs",
    ops: ["etcd-certs"],
    targets: [2],
  },
  {
    name: "one certificate deleted",
    spec: s3,
    status: (b) => b.provisioned().etcd().file("cp2", ETCD.serverKey, undefined).build(),
    phase: "etcd-certs",
    ops: ["etcd-certs"],
    targets: [1],
  },
  {
    name: "service files missing",
    spec: s3,
    status: (b) => b.provisioned().file("cp1", "/etc/yagura/sv/etcd/run", undefined).build(),
    phase: "etcd-files",
    ops: ["etcd-files"],
    targets: [1],
  },
  {
    name: "bootstrap when every control-plane node answers",
    spec: s3,
    status: (b) => b.provisioned().build(),
    phase: "etcd-bootstrap",
    ops: ["etcd-bootstrap"],
    targets: [3],
  },
  {
    name: "bootstrap refused when one is unreachable",
    spec: s3,
    status: (b) => b.provisioned(["cp1", "cp2"]).unreachable("cp3").build(),
    phase: "etcd-bootstrap-aborted",
    ops: [],
    message: /unreachable control-plane nodes may hold its data: .*unreachable: cp3/,
  },
  {
    name: "no control-plane node and no member answering: etcd's state is unknown, nothing is bootstrapped",
    spec: s3,
    status: (b) => b.unreachable("cp1").unreachable("cp2").unreachable("cp3").build(),
    phase: "etcd-bootstrap-aborted",
    ops: [],
    message: /no control-plane node answered over SSH and no etcd member answered: etcd's state is unknown/,
  },
  {
    name: "interrupted bootstrap is finished",
    spec: s3,
    status: (b) => b.provisioned().etcd(["cp1"]).noEtcdAnswer().build(),
    phase: "etcd-bootstrap",
    ops: ["etcd-bootstrap"],
    targets: [2],
  },
  {
    name: "wait for health after bootstrap",
    spec: s3,
    status: (b) => b.provisioned().etcd().noLeader().build(),
    phase: "etcd-wait",
    ops: ["etcd-wait"],
    targets: [3],
  },
  {
    name: "healthy cluster in scope etcd is completed",
    spec: s3,
    status: (b) => b.provisioned().etcd().build(),
    phase: "completed",
    ops: [],
    scope: "etcd",
  },
  {
    name: "healthy etcd does not pretend Kubernetes exists",
    spec: s3,
    status: (b) => b.provisioned().etcd().build(),
    // The etcd-only desired state has no Kubernetes material: the first Kubernetes rung says so.
    phase: "k8s-material-missing",
    ops: [],
    scope: "all",
  },
  {
    name: "stopped member is started",
    spec: s3,
    status: (b) => b.provisioned().etcd().stopped("cp2").build(),
    phase: "etcd-start",
    ops: ["etcd-start"],
    targets: [1],
  },
  {
    name: "all stopped: started together",
    spec: s3,
    status: (b) => b.provisioned().etcd().stopped("cp1").stopped("cp2").stopped("cp3").noEtcdAnswer().build(),
    phase: "etcd-start",
    ops: ["etcd-start"],
    targets: [3],
  },
  {
    name: "outdated member restarted",
    spec: s3,
    status: (b) => b.provisioned().etcd().fingerprint("cp3", "0".repeat(64)).build(),
    phase: "etcd-restart",
    ops: ["etcd-restart"],
    targets: [1],
  },
  {
    name: "edited run script: rewritten, fingerprint forgotten",
    spec: s3,
    status: (b) => b.provisioned().etcd().file("cp2", "/etc/yagura/sv/etcd/run", "f".repeat(64)).build(),
    phase: "etcd-files",
    ops: ["etcd-files"],
    targets: [1],
  },
  {
    name: "outdated member not restarted while another is unhealthy",
    spec: s3,
    status: (b) =>
      b.provisioned().etcd().fingerprint("cp3", undefined).member("cp1", { healthy: false, inSync: false }).build(),
    phase: "etcd-maintenance-aborted",
    ops: [],
    message: /unhealthy members: cp1/,
    settling: true,
  },
  {
    name: "wiped data dir: member removed",
    spec: s3,
    status: (b) => b.provisioned().etcd().wiped("cp2").build(),
    phase: "etcd-remove-member",
    ops: ["etcd-remove-member"],
    targets: [1],
  },
  {
    name: "wiped data dir refused while a control-plane node is unreachable",
    spec: s3,
    status: (b) => b.provisioned().etcd().wiped("cp2").unreachable("cp3").build(),
    phase: "etcd-maintenance-aborted",
    ops: [],
    message: /unreachable control-plane nodes: cp3/,
  },
  {
    name: "wiped member of two: no quorum, so wait rather than remove",
    spec: s2,
    status: (b) => b.provisioned().etcd().wiped("cp2").build(),
    phase: "etcd-wait",
    ops: ["etcd-wait"],
  },
  {
    name: "removed member's node re-added as learner",
    spec: s3,
    status: (b) => b.provisioned().etcd(["cp1", "cp3"]).data("cp2", false).build(),
    phase: "etcd-add-member",
    ops: ["etcd-add-member"],
    targets: [1],
  },
  {
    name: "new control-plane node added as learner",
    spec: s4,
    status: (b) => b.provisioned().etcd(["cp1", "cp2", "cp3"]).build(),
    phase: "etcd-add-member",
    ops: ["etcd-add-member"],
    targets: [1],
  },
  {
    name: "add refused while a member is out of sync",
    spec: s4,
    status: (b) => b.provisioned().etcd(["cp1", "cp2", "cp3"]).member("cp2", { inSync: false }).build(),
    phase: "etcd-maintenance-aborted",
    ops: [],
    message: /not in sync: cp2/,
    settling: true,
  },
  {
    name: "add refused while a control-plane node is unreachable",
    spec: s4,
    status: (b) => b.provisioned(["cp1", "cp2", "cp3"]).etcd(["cp1", "cp2", "cp3"]).unreachable("cp4").build(),
    phase: "etcd-maintenance-aborted",
    ops: [],
    message: /cp4/,
  },
  {
    name: "learner promoted",
    spec: s4,
    status: (b) => b.provisioned().etcd().member("cp4", { isLearner: true }).build(),
    phase: "etcd-promote",
    ops: ["etcd-promote"],
    targets: [1],
  },
  {
    name: "added but never started: start it",
    spec: s4,
    status: (b) =>
      b
        .provisioned()
        .etcd(["cp1", "cp2", "cp3"])
        .member("cp4", { name: "", clientURLs: [], isLearner: true, healthy: false, inSync: false })
        .build(),
    phase: "etcd-add-member",
    ops: ["etcd-add-member"],
    targets: [1],
  },
  {
    name: "added and started a moment ago, not joined yet: waited for, not taken as complete",
    spec: s4,
    status: (b) =>
      b
        .provisioned()
        .etcd() // cp4's etcd runs, with a data dir
        .member("cp4", { name: "", clientURLs: [], isLearner: true, healthy: false, inSync: false })
        .build(),
    phase: "etcd-maintenance-aborted",
    ops: [],
    message: /learner cp4 has not joined yet/,
    settling: true,
  },
  {
    name: "member not in the inventory removed",
    spec: s3,
    status: (b) => b.provisioned().etcd().foreignMember("cp4", "10.79.0.14").build(),
    phase: "etcd-remove-member",
    ops: ["etcd-remove-member"],
    targets: [1],
  },
  {
    name: "no removal without a healthy quorum",
    spec: s3,
    status: (b) =>
      b
        .provisioned()
        .etcd()
        .foreignMember("old", "10.79.0.99")
        .member("cp2", { healthy: false, inSync: false })
        .member("cp3", { healthy: false, inSync: false })
        .build(),
    phase: "etcd-wait",
    ops: ["etcd-wait"],
  },
  {
    name: "removal refused while another member is unhealthy",
    spec: s3,
    status: (b) =>
      b
        .provisioned()
        .etcd()
        .foreignMember("old", "10.79.0.99")
        .member("cp3", { healthy: false, inSync: false })
        .build(),
    phase: "etcd-maintenance-aborted",
    ops: [],
    message: /not in sync: cp3/,
    settling: true,
  },
  {
    name: "inventory dropping half or more of the voters at once is refused",
    spec: testSpec(1),
    status: (b) => b.provisioned().etcd().foreignMember("cp2", "10.79.0.12").foreignMember("cp3", "10.79.0.13").build(),
    phase: "etcd-maintenance-aborted",
    ops: [],
    message: /drops 2 of 3 etcd voters at once \(cp2, cp3\).*yagura plan\/apply/,
  },
  {
    name: "learner added for a node with stale data",
    spec: s4,
    status: (b) => b.provisioned().etcd(["cp1", "cp2", "cp3"]).data("cp4", true).build(),
    phase: "etcd-add-member",
    ops: ["etcd-add-member"],
    targets: [1],
  },
  // Rung 10: scheduled snapshots (default schedule 15m).
  {
    name: "snapshot due: none taken yet",
    spec: s3,
    status: (b) => b.provisioned().etcd().backup().build(),
    phase: "etcd-snapshot",
    ops: ["etcd-snapshot"],
    targets: [3],
    message: /no etcd snapshot yet/,
  },
  {
    name: "snapshot due: the newest is older than the schedule",
    spec: s3,
    status: (b) =>
      b
        .provisioned()
        .etcd()
        .backup(ago(16 * MIN))
        .build(),
    phase: "etcd-snapshot",
    ops: ["etcd-snapshot"],
    targets: [3],
    message: /older than the schedule \(15m\)/,
  },
  {
    name: "snapshot due: exactly one schedule old",
    spec: s3,
    status: (b) =>
      b
        .provisioned()
        .etcd()
        .backup(ago(15 * MIN))
        .build(),
    phase: "etcd-snapshot",
    ops: ["etcd-snapshot"],
  },
  {
    name: "snapshot due: the newest is dated in the future (clock stepped back)",
    spec: s3,
    status: (b) =>
      b
        .provisioned()
        .etcd()
        .backup(ago(-60 * MIN))
        .build(),
    phase: "etcd-snapshot",
    ops: ["etcd-snapshot"],
  },
  {
    name: "snapshot due: the newest has an unreadable time",
    spec: s3,
    status: (b) => b.provisioned().etcd().backup("yesterday-ish").build(),
    phase: "etcd-snapshot",
    ops: ["etcd-snapshot"],
    message: /"yesterday-ish" is unreadable/,
  },
  {
    name: "snapshot not due: completed in scope etcd",
    spec: s3,
    status: (b) =>
      b
        .provisioned()
        .etcd()
        .backup(ago(15 * MIN - 1000))
        .build(),
    phase: "completed",
    ops: [],
  },
  {
    name: "snapshot not due: scope all goes on to the Kubernetes rungs",
    spec: s3,
    status: (b) => b.provisioned().etcd().backup(ago(MIN)).build(),
    // The etcd-only desired state has no Kubernetes material: the first Kubernetes rung says so.
    phase: "k8s-material-missing",
    ops: [],
    scope: "all",
  },
  {
    name: "snapshot due in scope all too",
    spec: s3,
    status: (b) => b.provisioned().etcd().backup().build(),
    phase: "etcd-snapshot",
    ops: ["etcd-snapshot"],
    scope: "all",
  },
  {
    name: "schedule from the inventory: 30m old is not due hourly",
    spec: hourly,
    status: (b) =>
      b
        .provisioned()
        .etcd()
        .backup(ago(30 * MIN))
        .build(),
    phase: "completed",
    ops: [],
  },
  {
    name: "schedule from the inventory: 61m old is due hourly",
    spec: hourly,
    status: (b) =>
      b
        .provisioned()
        .etcd()
        .backup(ago(61 * MIN))
        .build(),
    phase: "etcd-snapshot",
    ops: ["etcd-snapshot"],
    message: /\(1h\)/,
  },
  {
    name: "snapshot only from healthy in-sync voters",
    spec: s3,
    status: (b) => b.provisioned().etcd().member("cp3", { inSync: false }).backup().build(),
    phase: "etcd-snapshot",
    ops: ["etcd-snapshot"],
    targets: [2],
  },
  {
    name: "store not observed: no snapshot decision",
    spec: s3,
    status: (b) => b.provisioned().etcd().build(),
    phase: "completed",
    ops: [],
  },
  {
    name: "store unreadable: refused with the reason",
    spec: s3,
    status: (b) => b.provisioned().etcd().backup(undefined, "cannot list the snapshots of t: EACCES").build(),
    phase: "etcd-snapshot-aborted",
    ops: [],
    message: /EACCES/,
  },
  {
    name: "etcd without a leader: waiting wins over a due snapshot",
    spec: s3,
    status: (b) => b.provisioned().etcd().noLeader().backup().build(),
    phase: "etcd-wait",
    ops: ["etcd-wait"],
  },
  {
    name: "stopped member: starting it wins over a due snapshot",
    spec: s3,
    status: (b) => b.provisioned().etcd().stopped("cp2").backup().build(),
    phase: "etcd-start",
    ops: ["etcd-start"],
  },
  {
    name: "learner pending: promotion wins over a due snapshot",
    spec: s3,
    status: (b) => b.provisioned().etcd().member("cp3", { isLearner: true }).backup().build(),
    phase: "etcd-promote",
    ops: ["etcd-promote"],
  },
  {
    name: "one member down on an unreachable node, quorum healthy: snapshot from the other two",
    spec: s3,
    status: (b) =>
      b.provisioned().etcd().unreachable("cp3").member("cp3", { healthy: false, inSync: false }).backup().build(),
    phase: "etcd-snapshot",
    ops: ["etcd-snapshot"],
    targets: [2],
  },
  {
    name: "no etcd answer: nothing is snapshotted",
    spec: s3,
    status: (b) => b.provisioned().etcd().noEtcdAnswer().backup().build(),
    phase: "etcd-wait",
    ops: ["etcd-wait"],
  },
];

describe("decide", () => {
  for (const c of cases) {
    it(c.name, () => {
      const desired = testDesired(c.spec);
      const status = c.status(statusBuilder(c.spec, desired));
      const d = decide(c.spec, status, { now, desired, scope: c.scope ?? "etcd" });
      expect(d.phase, d.message).toBe(c.phase);
      expect(d.ops.map((o) => o.name)).toEqual(c.ops);
      if (c.targets) expect(d.ops.map((o) => o.targets.length)).toEqual(c.targets);
      if (c.message) expect(d.message).toMatch(c.message);
      // Only a settling cluster is observed again; every other refusal ends the reconcile.
      expect(d.settling ?? false, d.message).toBe(c.settling ?? false);
      for (const op of d.ops) {
        let n = 0;
        while (op.nextCommand() !== undefined) {
          n++;
          expect(n, `${op.name} must terminate`).toBeLessThan(100);
        }
        expect(n, `${op.name} has commands`).toBeGreaterThan(0);
      }
    });
  }

  it("the snapshot op runs one local command", () => {
    const desired = testDesired(s3);
    const status = statusBuilder(s3, desired).provisioned().etcd().backup().build();
    const op = decide(s3, status, { now, desired, scope: "etcd" }).ops[0]!;
    expect(op.targets).toEqual(["cp1", "cp2", "cp3"]);
    const names: string[] = [];
    for (let c = op.nextCommand(); c; c = op.nextCommand()) names.push(`${c.name}@${c.target}`);
    expect(names).toEqual(["take-snapshot@local"]);
  });

  it("is pure: the same input gives the same phase and leaves the status untouched", () => {
    const desired = testDesired(s3);
    const status = statusBuilder(s3, desired).provisioned().etcd().stopped("cp2").build();
    const copy = structuredClone(status);
    const a = decide(s3, status, { now, desired });
    const b = decide(s3, status, { now, desired });
    expect(a.phase).toBe(b.phase);
    expect(status).toEqual(copy);
  });

  it("a member whose node was demoted to worker is removed and its etcd stopped there", () => {
    const spec = testSpec(3, 1);
    const desired = testDesired(spec);
    const status = statusBuilder(spec, desired).provisioned().etcd().member("w1").build();
    const d = decide(spec, status, { now, desired, scope: "etcd" });
    expect(d.phase).toBe("etcd-remove-member");
    const names: string[] = [];
    for (let c = d.ops[0]!.nextCommand(); c; c = d.ops[0]!.nextCommand()) names.push(`${c.name}@${c.target}`);
    expect(names).toEqual(["remove-member@etcd", "stop-and-set-aside@w1"]);
  });

  it("drifted run script makes the files op forget the fingerprint first", () => {
    const desired = testDesired(s3);
    const status = statusBuilder(s3, desired)
      .provisioned()
      .etcd()
      .file("cp2", "/etc/yagura/sv/etcd/run", "f".repeat(64))
      .build();
    const op = decide(s3, status, { now, desired, scope: "etcd" }).ops[0]!;
    const names: string[] = [];
    for (let c = op.nextCommand(); c; c = op.nextCommand()) names.push(`${c.name}@${c.target}`);
    expect(names).toEqual(["forget-etcd-fingerprint@cp2", "write-etcd-service@cp2"]);
  });
});
