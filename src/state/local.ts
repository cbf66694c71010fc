/**
 * The default state backend: `.yagura/<env>/` on this machine (envPaths), with the lock file's
 * fencing token (run/lock.ts), records.jsonl (run/records.ts), rebuild-journal.jsonl (the apply
 * journal, rebuild/journal.ts), documents as files (rebuild-built.json) and the PKI directory in place.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { envPaths } from "../cluster/paths.js";
import { fileJournal, journalPath, readJournal } from "../rebuild/journal.js";
import { acquireLock } from "../run/lock.js";
import { cancelUnfinished, readRecords, recordWriter } from "../run/records.js";
import { documentName, type StateBackend, type WithPki } from "./types.js";

/** The local backend of `env` under `stateRoot` (default $YAGURA_STATE_DIR or .yagura). */
export function localBackend(env: string, stateRoot?: string): StateBackend {
  const paths = envPaths(env, stateRoot);
  const withPki: WithPki = (fn) => fn(paths.pkiDir);
  const docPath = (name: string) => join(paths.dir, documentName(name));
  const readDocument = async (name: string) =>
    existsSync(docPath(name)) ? readFileSync(docPath(name), "utf8") : undefined;
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
        documents: {
          read: readDocument,
          async write(name, text) {
            lock.check();
            // Whole or not at all: a crash mid-write leaves the previous document.
            writeFileSync(docPath(name) + ".tmp", text, { mode: 0o600 });
            renameSync(docPath(name) + ".tmp", docPath(name));
          },
        },
        close: async () => lock.release(),
      };
    },
    readRecords: async () => readRecords(paths.records),
    readJournal: async () => readJournal(journalPath(paths.dir)),
    readDocument,
    readPki: withPki,
    close: async () => undefined,
  };
}
