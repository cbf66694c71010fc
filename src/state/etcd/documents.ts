/**
 * Small named documents of an environment in the state etcd (the build record of `yagura apply`),
 * one key each under `<prefix>/<env>/documents/<name>`, replaced whole by a fenced transaction.
 */
import type { Etcd3 } from "etcd3";
import type { DocumentStore } from "../types.js";
import { documentName } from "../types.js";
import { fencedTxn } from "./fence.js";

/** Reads document `name` under `prefix`; undefined when it was never written. */
export async function readEtcdDocument(client: Etcd3, prefix: string, name: string): Promise<string | undefined> {
  return (await client.get(prefix + documentName(name)).string()) ?? undefined;
}

/** A holder's documents: reads anyone may make, writes fenced by `token` (after `check`). */
export function etcdDocuments(t: {
  readonly client: Etcd3;
  /** `<prefix>/<env>/documents/` */
  readonly prefix: string;
  readonly leaderKey: string;
  readonly token: number;
  readonly check: () => void;
}): DocumentStore {
  return {
    read: (name) => readEtcdDocument(t.client, t.prefix, name),
    async write(name, text) {
      t.check();
      await fencedTxn(t.client, t.leaderKey, t.token, [t.client.put(t.prefix + documentName(name)).value(text)]);
    },
  };
}
