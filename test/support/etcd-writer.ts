/**
 * An etcd writer for the lab tests and the fault drill: it puts a counter through the etcd3 client
 * with yagura's admin certificate, records every put etcd acknowledged, tolerates failures while
 * members come and go, and at stop reads all its keys back in one range (a linearizable read), so
 * a lost write is named.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Etcd3 } from "etcd3";
import { envPaths } from "../../src/cluster/paths.js";
import { clientOptions, createEtcdAdmin } from "../../src/infra/etcd.js";
import type { EtcdTls } from "../../src/infra/types.js";

/** Reads every key under `prefix`, asking again while the cluster answers with an error (a leader change, a member restarting). */
async function readBack(endpoints: readonly string[], tls: EtcdTls, prefix: string): Promise<Record<string, string>> {
  const client = new Etcd3(clientOptions([...endpoints], tls, 10_000));
  try {
    for (let i = 1; ; i++) {
      try {
        return await client.getAll().prefix(prefix).strings();
      } catch (err) {
        if (i >= 20) throw err;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  } finally {
    client.close();
  }
}

/** Puts a counter through the etcd3 client against `endpoints` until stopped; then reads every acknowledged key back. */
export function etcdWriter(state: string, endpoints: readonly string[], env: string, name = "writer") {
  const pki = envPaths(env, state).pkiDir;
  const tls = {
    ca: readFileSync(join(pki, "etcd-client-ca.crt"), "utf8"),
    cert: readFileSync(join(pki, "etcd-admin.crt"), "utf8"),
    key: readFileSync(join(pki, "etcd-admin.key"), "utf8"),
  };
  const admin = createEtcdAdmin([...endpoints], tls, { callTimeoutMs: 3000 });
  const prefix = `${name}/${Date.now()}/`;
  const acked: string[] = [];
  let failed = 0;
  let writing = true;
  const loop = (async () => {
    for (let i = 0; writing; i++) {
      const k = `${prefix}${String(i).padStart(6, "0")}`;
      await admin.put(k, String(i)).then(
        () => acked.push(k),
        () => failed++,
      );
      await new Promise((r) => setTimeout(r, 40));
    }
  })();
  return {
    /** The keys written so far, acknowledged by etcd. */
    acked: (): readonly string[] => acked,
    /** Stops writing and reads back every acknowledged key through `readFrom` (the members now). */
    async stop(readFrom: readonly string[]): Promise<{ acked: number; failed: number; missing: string[] }> {
      writing = false;
      await loop;
      await admin.close();
      const stored = await readBack(readFrom, tls, prefix);
      // Each key holds its own counter (the digits after the prefix).
      const missing = acked.filter((k) => stored[k] !== String(Number(k.slice(prefix.length))));
      return { acked: acked.length, failed, missing };
    },
  };
}
