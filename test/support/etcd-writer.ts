/**
 * An etcd writer for the lab tests and the fault drill: it puts a counter through the etcd3 client
 * with yagura's admin certificate, records every put etcd acknowledged, tolerates failures while
 * members come and go, and at stop reads every acknowledged key back, so a lost write is named.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { envPaths } from "../../src/cluster/paths.js";
import { createEtcdAdmin } from "../../src/infra/etcd.js";

/** Reads `key`, asking again while the cluster answers with an error (a leader change, a member restarting). */
async function readBack(reader: ReturnType<typeof createEtcdAdmin>, key: string): Promise<string | undefined> {
  for (let i = 1; ; i++) {
    try {
      return await reader.get(key);
    } catch (err) {
      if (i >= 20) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
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
    /** Stops writing and reads back every acknowledged key through `readFrom` (the members now). */
    async stop(readFrom: readonly string[]): Promise<{ acked: number; failed: number; missing: string[] }> {
      writing = false;
      await loop;
      await admin.close();
      const reader = createEtcdAdmin([...readFrom], tls, { callTimeoutMs: 5000 });
      const missing: string[] = [];
      try {
        for (const k of acked) if ((await readBack(reader, k)) === undefined) missing.push(k);
      } finally {
        await reader.close();
      }
      return { acked: acked.length, failed, missing };
    },
  };
}
