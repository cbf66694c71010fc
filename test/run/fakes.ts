/** Fakes shared by the loop and observe tests; they throw "not implemented" for what a test does not stub. */
import type { EtcdAdmin } from "../../src/infra/types.js";
import type { OpRecord, RecordWriter } from "../../src/run/records.js";
import { observePlan } from "../../src/observe/index.js";
import type { testDesired, testSpec } from "../decide/builder.js";

/** Stands in for a method a test does not expect to be called. */
export const nope = () => {
  throw new Error("not implemented");
};

/** What observe's node script prints on a node with nothing of yagura's on it. */
export function emptyNodeReport(
  spec: ReturnType<typeof testSpec>,
  desired: ReturnType<typeof testDesired>,
  node: string,
) {
  const plan = observePlan(
    spec.nodes.find((n) => n.name === node)!,
    desired,
  );
  return {
    missing: [],
    files: plan.files.map(() => ""),
    services: plan.components.map(() => ({ state: { present: false, running: false, pid: 0 }, fingerprint: "" })),
    etcdData: { present: false, hasMember: false },
  };
}

/** An etcd cluster that refuses every connection with `message`. */
export const deadEtcd = (message: string) => (): EtcdAdmin => ({
  members: async () => {
    throw new Error(message);
  },
  endpointStatus: nope,
  addLearner: nope,
  promote: nope,
  remove: nope,
  put: nope,
  get: nope,
  close: async () => undefined,
});

/** A record writer that keeps every written record version in memory, in order. */
export function memoryRecords(): { lines: OpRecord[]; w: RecordWriter } {
  const lines: OpRecord[] = [];
  const w: RecordWriter = {
    start(op, targets, phase) {
      const r: OpRecord = { id: String(lines.length), op, targets, status: "running", startedAt: "t", token: 1, phase };
      lines.push(r);
      return r;
    },
    update(rec, patch) {
      const r = { ...rec, ...patch };
      lines.push(r);
      return r;
    },
  };
  return { lines, w };
}
