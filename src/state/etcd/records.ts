/**
 * Op records in the state etcd, one key per op under `<prefix>/<env>/records/<sortable id>` (the
 * start time, a counter, random hex), overwritten as the op progresses. The writer's methods stay
 * synchronous like the local one's; each write is queued as a fenced transaction in order, and
 * `fence()` (which the loop awaits before an op acts) surfaces a refused write. After one refused
 * or failed write the writer refuses everything: the holder steps down.
 */
import { randomBytes } from "node:crypto";
import type { Etcd3 } from "etcd3";
import type { OpRecord, RecordWriter } from "../../run/records.js";
import { LostLeadershipError } from "../types.js";
import { fencedTxn } from "./fence.js";

/** The fenced writer plus its sticky failure. */
export interface EtcdRecordWriter extends RecordWriter {
  fence(): Promise<void>;
  /** Throws the first write failure, if any. */
  check(): void;
}

/** Where and as whom records are written. */
export interface RecordTarget {
  readonly client: Etcd3;
  /** `<prefix>/<env>/records/` */
  readonly recordsPrefix: string;
  readonly leaderKey: string;
  readonly token: number;
  /** `host:pid` of this instance. */
  readonly holder: string;
  /** Throws when this instance no longer leads (checked before every write). */
  readonly checkLeader: () => void;
  readonly now?: () => Date;
}

/** A writer fenced by `t.token`. */
export function etcdRecordWriter(t: RecordTarget): EtcdRecordWriter {
  const now = t.now ?? (() => new Date());
  let failure: Error | undefined;
  let chain: Promise<void> = Promise.resolve();
  let seq = 0;
  const check = () => {
    if (failure) throw failure;
    t.checkLeader();
  };
  const write = (r: OpRecord) => {
    check();
    const key = t.recordsPrefix + r.id;
    chain = chain.then(async () => {
      if (failure) return;
      try {
        await fencedTxn(t.client, t.leaderKey, t.token, [t.client.put(key).value(JSON.stringify(r))]);
      } catch (err) {
        failure =
          err instanceof LostLeadershipError
            ? err
            : new LostLeadershipError(
                `could not write the record of ${r.op} to the state store (${(err as Error).message}); ` +
                  "this instance steps down rather than act unrecorded",
              );
      }
    });
  };
  return {
    start(op, targets, phase) {
      const startedAt = now().toISOString();
      const r: OpRecord = {
        // Sorts by start time; the counter orders ops started in one millisecond.
        id: `${startedAt}-${String(++seq % 1e6).padStart(6, "0")}-${randomBytes(3).toString("hex")}`,
        op,
        targets,
        status: "running",
        startedAt,
        token: t.token,
        phase,
        holder: t.holder,
      };
      write(r);
      return r;
    },
    update(rec, patch) {
      const r: OpRecord = { ...rec, ...patch, token: t.token, holder: t.holder };
      write(r);
      return r;
    },
    async fence() {
      await chain;
      if (failure) throw failure;
    },
    check,
  };
}

/** Every record under `recordsPrefix`, oldest first. */
export async function readEtcdRecords(client: Etcd3, recordsPrefix: string): Promise<OpRecord[]> {
  const all = await client.getAll().prefix(recordsPrefix).strings();
  return Object.keys(all)
    .sort()
    .flatMap((k) => {
      try {
        return [JSON.parse(all[k]!) as OpRecord];
      } catch {
        return [];
      }
    });
}
