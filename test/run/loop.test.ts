import { describe, expect, it } from "vitest";
import { CommandError, type NodeShell } from "../../src/infra/types.js";
import { reconcileLoop, type LoopEvent } from "../../src/run/loop.js";
import { testDesired, testSpec } from "../decide/builder.js";
import { deadEtcd, emptyNodeReport, memoryRecords, nope } from "./fakes.js";

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
});
