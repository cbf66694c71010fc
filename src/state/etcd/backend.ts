/**
 * The etcd state backend: leadership per environment (election.ts), records and PKI written only
 * (and the apply journal, journal.ts) through fenced transactions (fence.ts), the PKI sealed with the key from YAGURA_STATE_KEY. Several
 * yagura instances on several machines can point at one store; exactly one leads each environment.
 */
import type { IOperation } from "etcd3";
import { OperationFailedError, RefusedError, UserError } from "../../cli/errors.js";
import { stateKeyFrom } from "../crypto.js";
import { stateKeys, type StateLocation } from "../location.js";
import type { StateBackend, StateHolder, WithPki } from "../types.js";
import { stateClient } from "./client.js";
import { campaign } from "./election.js";
import { fencedTxn } from "./fence.js";
import { etcdDocuments, readEtcdDocument } from "./documents.js";
import { etcdJournal, readEtcdJournal } from "./journal.js";
import { etcdRecordWriter, readEtcdRecords } from "./records.js";
import { withSecretsDir, type SecretStore } from "./secrets.js";

// etcd refuses transactions of more than 128 operations by default (--max-txn-ops).
const TXN_OPS = 100;

/** The etcd backend of `env` at `loc`; acquire and the PKI throw a UserError when the state key is missing or malformed. */
export function etcdBackend(
  env: string,
  loc: Extract<StateLocation, { kind: "etcd" }>,
  processEnv: NodeJS.ProcessEnv = process.env,
): StateBackend {
  const client = stateClient(loc.endpoints, loc.tls);
  const keys = stateKeys(loc.prefix, env);
  // Read lazily, so `history` works without it; acquire checks it before campaigning.
  let sealing: Buffer | undefined;
  const secrets: SecretStore = {
    client,
    secretsPrefix: keys.secrets,
    key: () => (sealing ??= stateKeyFrom(processEnv)),
  };
  const readPki: WithPki = (fn) => withSecretsDir(secrets, fn);
  const unreachable = (err: unknown): never => {
    if (err instanceof RefusedError || err instanceof UserError) throw err;
    throw new OperationFailedError(
      `the state store ${loc.url} did not answer (${(err as Error).message}); check that it runs and ` +
        "that --state and the TLS files (--state-ca, --state-cert, --state-key) point at it",
    );
  };

  return {
    describe: loc.url,
    async acquire(o = {}) {
      secrets.key();
      const lead = await campaign(client, keys.leader, loc.ttlSeconds, { ...o, env }).catch(unreachable);
      const records = etcdRecordWriter({
        client,
        recordsPrefix: keys.records,
        leaderKey: keys.leader,
        token: lead.token,
        holder: lead.info.holder,
        checkLeader: () => lead.check(),
      });
      const check = () => records.check();
      // Ops a previous holder left running can only be that holder's: this one just started.
      const open = (await readEtcdRecords(client, keys.records)).filter(
        (r) => r.status === "running" && r.token !== lead.token,
      );
      const endedAt = new Date().toISOString();
      for (const r of open)
        records.update(r, {
          status: "cancelled",
          endedAt,
          error: "the instance leading this environment stopped during this op",
        });
      await records.fence();
      const commit = async (ops: IOperation[]) => {
        check();
        for (let i = 0; i < ops.length; i += TXN_OPS)
          await fencedTxn(client, keys.leader, lead.token, ops.slice(i, i + TXN_OPS));
      };
      let closed: Promise<void> | undefined;
      const close = () =>
        (closed ??= (async () => {
          await records.fence().catch(() => undefined);
          await lead.resign();
        })());
      const prev = lead.previous;
      const holder: StateHolder = {
        token: lead.token,
        check,
        release: () => void close(),
        records,
        withPki: (fn) => withSecretsDir(secrets, fn, commit),
        journal: etcdJournal({
          client,
          journalPrefix: keys.journal,
          leaderKey: keys.leader,
          token: lead.token,
          checkLeader: check,
        }),
        documents: etcdDocuments({
          client,
          prefix: keys.documents,
          leaderKey: keys.leader,
          token: lead.token,
          check,
        }),
        close,
        ...(prev || open.length > 0
          ? {
              takeover:
                `leading ${env} in ${loc.url} with token ${lead.token}` +
                (prev ? ` after ${prev.holder} (token ${prev.token})` : "") +
                `; ${open.length} unfinished op(s) marked cancelled`,
            }
          : {}),
      };
      return holder;
    },
    readRecords: () => readEtcdRecords(client, keys.records).catch(unreachable),
    readJournal: () => readEtcdJournal(client, keys.journal).catch(unreachable),
    readDocument: (name) => readEtcdDocument(client, keys.documents, name).catch(unreachable),
    readPki,
    close: async () => client.close(),
  };
}
