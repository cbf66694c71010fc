/** Fakes shared by the loop and observe tests; they throw "not implemented" for what a test does not stub. */
import type { EtcdAdmin } from "../../src/infra/types.js";
import type { OpRecord, RecordWriter } from "../../src/run/records.js";
import { observePlan } from "../../src/observe/index.js";
import { ETCD } from "../../src/ops/etcd/layout.js";
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

/**
 * What observe's node script prints on a control-plane node whose etcd is as desired: its files
 * in place, etcd running the desired definition, a member's data dir. Not `started`: only the
 * certificates and files are in place (a node about to join).
 */
export function convergedEtcdReport(
  spec: ReturnType<typeof testSpec>,
  desired: ReturnType<typeof testDesired>,
  node: string,
  started = true,
): string {
  const plan = observePlan(
    spec.nodes.find((n) => n.name === node)!,
    desired,
  );
  const d = desired.etcd[node]!;
  const sha = new Map([...d.certs, ...d.files].map((f) => [f.path, f.sha256]));
  if (started) sha.set(ETCD.envFile, d.bootstrapNewSha256);
  const json = {
    missing: [],
    services: plan.components.map((c) =>
      c === ETCD.component && started
        ? { state: { present: true, running: true, pid: 100 }, fingerprint: d.fingerprint }
        : { state: { present: false, running: false, pid: 0 }, fingerprint: "" },
    ),
    etcdData: { present: started, hasMember: started },
  };
  const lines = plan.files.filter((f) => sha.has(f)).map((f) => `${sha.get(f)}  ${f}`);
  return [JSON.stringify(json), ...lines].join("\n");
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
