/**
 * The step journal of `yagura apply` in the state etcd: one key per entry under
 * `<prefix>/<env>/journal/<token>-<counter>-<hex>`, never overwritten. Entries are read back in the
 * order etcd created them (create revision), not by key or clock, so the order stays right across
 * holders on machines whose clocks disagree. Every append is a fenced transaction, like the records:
 * a holder that lost the lead writes nothing, and after one refused or failed append it refuses all.
 */
import { randomBytes } from "node:crypto";
import type { Etcd3 } from "etcd3";
import type { JournalLine, JournalStore } from "../../rebuild/journal.js";
import { LostLeadershipError } from "../types.js";
import { fencedTxn } from "./fence.js";

/** Where and under which token the journal is written. */
export interface JournalTarget {
  readonly client: Etcd3;
  /** `<prefix>/<env>/journal/` */
  readonly journalPrefix: string;
  readonly leaderKey: string;
  readonly token: number;
  /** Throws when this instance no longer leads (checked before every append). */
  readonly checkLeader: () => void;
}

/** Every journal entry under `journalPrefix`, in the order they were written. */
export async function readEtcdJournal(client: Etcd3, journalPrefix: string): Promise<JournalLine[]> {
  const r = await client.getAll().prefix(journalPrefix).sort("Create", "Ascend").exec();
  return r.kvs.flatMap((kv) => {
    try {
      return [JSON.parse(kv.value.toString()) as JournalLine];
    } catch {
      return []; // not ours
    }
  });
}

/** The journal store of a holder fenced by `t.token`. */
export function etcdJournal(t: JournalTarget): JournalStore {
  let failure: Error | undefined;
  let seq = 0;
  return {
    read: () => readEtcdJournal(t.client, t.journalPrefix),
    async append(l) {
      if (failure) throw failure;
      t.checkLeader();
      const key = `${t.journalPrefix}${String(t.token).padStart(12, "0")}-${String(++seq).padStart(6, "0")}-${randomBytes(3).toString("hex")}`;
      try {
        await fencedTxn(t.client, t.leaderKey, t.token, [t.client.put(key).value(JSON.stringify(l))]);
      } catch (err) {
        failure =
          err instanceof LostLeadershipError
            ? err
            : new LostLeadershipError(
                `could not write the apply journal to the state store (${(err as Error).message}); ` +
                  "this instance steps down rather than act unjournaled",
              );
        throw failure;
      }
    },
  };
}
