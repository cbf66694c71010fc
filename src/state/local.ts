/**
 * The default state backend: `.yagura/<env>/` on this machine (envPaths), with the lock file's
 * fencing token (run/lock.ts), records.jsonl (run/records.ts), rebuild-journal.jsonl (the apply
 * journal, rebuild/journal.ts) and the PKI directory in place.
 */
import { envPaths } from "../cluster/paths.js";
import { fileJournal, journalPath, readJournal } from "../rebuild/journal.js";
import { acquireLock } from "../run/lock.js";
import { cancelUnfinished, readRecords, recordWriter } from "../run/records.js";
import type { StateBackend, WithPki } from "./types.js";

/** The local backend of `env` under `stateRoot` (default $YAGURA_STATE_DIR or .yagura). */
export function localBackend(env: string, stateRoot?: string): StateBackend {
  const paths = envPaths(env, stateRoot);
  const withPki: WithPki = (fn) => fn(paths.pkiDir);
  return {
    describe: "local",
    async acquire(o = {}) {
      const lock = await acquireLock(paths.lock, { waitMs: o.waitMs ?? 0 });
      const records = recordWriter(paths.records, lock.token, () => lock.check());
      let takeover: string | undefined;
      if (lock.tookOver) {
        const n = cancelUnfinished(paths.records, records, new Date());
        takeover = `took over a stale lock from pid ${lock.tookOver.pid} (token ${lock.tookOver.token}); ${n} unfinished op(s) marked cancelled`;
      }
      return {
        token: lock.token,
        ...(lock.tookOver ? { tookOver: lock.tookOver } : {}),
        ...(takeover ? { takeover } : {}),
        check: () => lock.check(),
        release: () => lock.release(),
        records,
        withPki,
        journal: fileJournal(journalPath(paths.dir), () => lock.check()),
        close: async () => lock.release(),
      };
    },
    readRecords: async () => readRecords(paths.records),
    readJournal: async () => readJournal(journalPath(paths.dir)),
    readPki: withPki,
    close: async () => undefined,
  };
}
