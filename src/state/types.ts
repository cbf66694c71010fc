/**
 * Where an environment's shared state lives: the lock (or leadership) that keeps two reconcilers
 * off one environment, the op records, and the PKI. Two implementations: the local `.yagura/`
 * directory (the default) and an etcd cluster shared by several yagura instances.
 */
import { RefusedError } from "../cli/errors.js";
import type { JournalLine, JournalStore } from "../rebuild/journal.js";
import type { EnvLock } from "../run/lock.js";
import type { OpRecord, RecordWriter } from "../run/records.js";

/** Runs `fn` with the PKI as a local 0700 directory; the etcd backend writes changes back under the fence. */
export type WithPki = <T>(fn: (dir: string) => Promise<T>) => Promise<T>;

/** Small named documents of an environment (the apply's build record), replaced whole. */
export interface DocumentStore {
  /** The document's text; undefined when it was never written. */
  read(name: string): Promise<string | undefined>;
  /** Replaces it; throws (writing nothing) when this holder no longer holds the environment. */
  write(name: string, text: string): Promise<void>;
}

/** Checks a document name (a plain file name: it is a file of the local backend). */
export function documentName(name: string): string {
  if (!/^[a-z0-9][a-z0-9.-]*$/.test(name)) throw new Error(`bug: ${JSON.stringify(name)} is not a document name`);
  return name;
}

/** The held lock of one environment and what may only be written while holding it. */
export interface StateHolder extends EnvLock {
  /** Records fenced by this holder's token. */
  readonly records: RecordWriter;
  readonly withPki: WithPki;
  /** The step journal of `yagura apply`, fenced by this holder's token like the records. */
  readonly journal: JournalStore;
  /** Documents, written under the same fence. */
  readonly documents: DocumentStore;
  /** One line for people: who held it before and what was marked cancelled, if this took over. */
  readonly takeover?: string;
  /** Flushes pending writes, gives the lock up and closes connections. */
  close(): Promise<void>;
}

/** How to wait for the lock. */
export interface AcquireOptions {
  /** How long to wait for another holder; Infinity stands by until it goes. @default 0 */
  readonly waitMs?: number;
  /** Stops waiting (the acquire rejects). */
  readonly signal?: AbortSignal;
  /** Progress for people while standing by. */
  log?(line: string): void;
}

/** One environment's state store. */
export interface StateBackend {
  /** "local" or the etcd URL, for messages. */
  readonly describe: string;
  acquire(o?: AcquireOptions): Promise<StateHolder>;
  /** The op records, merged by id, oldest first. */
  readRecords(): Promise<OpRecord[]>;
  /** The apply journal, oldest first (plan: is an interrupted apply open?). */
  readJournal(): Promise<JournalLine[]>;
  /** A document, for a command that changes nothing (plan). */
  readDocument(name: string): Promise<string | undefined>;
  /** The PKI for a command that changes nothing (plan, status): a copy whose changes are dropped. */
  readonly readPki: WithPki;
  close(): Promise<void>;
}

/**
 * This instance no longer leads the environment (its lease ran out, or another holder's key is in
 * place): the write was refused and nothing after it may act. Exit code 4, as any refusal.
 */
export class LostLeadershipError extends RefusedError {}
