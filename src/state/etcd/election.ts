/**
 * Leader election per environment on the state etcd: the leader key is created in a transaction
 * (compare create revision == 0) under a lease that the client keeps alive; its create revision is
 * the fencing token, monotonic across holders. Standbys watch the key and try again as soon as it
 * is deleted (a resign, or the lease of a dead holder running out).
 */
import { hostname } from "node:os";
import type { Etcd3, Lease } from "etcd3";
import { RefusedError } from "../../cli/errors.js";
import { LostLeadershipError, type AcquireOptions } from "../types.js";
import { leaderInfo, type LeaderInfo } from "./fence.js";

/** Held leadership. */
export interface Leadership {
  readonly token: number;
  readonly info: LeaderInfo;
  /** The holder seen while standing by, if any. */
  readonly previous?: LeaderInfo & { token: number };
  /** Throws LostLeadershipError once the lease is lost or may have run out. */
  check(): void;
  /** Deletes the leader key (if still ours) and revokes the lease. */
  resign(): Promise<void>;
}

/** Resolves when `key` changes after `rev`, after `ms`, or when `signal` aborts. */
async function changed(client: Etcd3, key: string, rev: string, ms: number, signal?: AbortSignal): Promise<void> {
  const w = await client
    .watch()
    .key(key)
    .startRevision(String(Number(rev) + 1))
    .create();
  try {
    await new Promise<void>((res) => {
      const t = setTimeout(res, ms);
      const done = () => (clearTimeout(t), res());
      w.on("delete", done).on("put", done);
      signal?.addEventListener("abort", done, { once: true });
    });
  } finally {
    await w.cancel().catch(() => undefined);
  }
}

/** Campaigns for `key`; resolves once elected, or throws RefusedError after `waitMs` naming the holder. */
export async function campaign(
  client: Etcd3,
  key: string,
  ttlSeconds: number,
  o: AcquireOptions & { env: string },
): Promise<Leadership> {
  const info: LeaderInfo = { holder: `${hostname()}:${process.pid}`, since: new Date().toISOString() };
  const deadline = Date.now() + (o.waitMs ?? 0);
  let lease: Lease | undefined;
  let lost: Error | undefined;
  // When the last keepalive that etcd answered was sent: the lease lives at least ttl past it.
  let firedAt = 0;
  let aliveFrom = 0;
  let seen: (LeaderInfo & { token: number }) | undefined;
  for (;;) {
    if (o.signal?.aborted) {
      await lease?.revoke().catch(() => undefined);
      throw new RefusedError(`stopped while standing by for ${o.env}`);
    }
    if (!lease || lost) {
      lost = undefined;
      const l = client.lease(ttlSeconds);
      l.on("lost", (err) => (lost = new LostLeadershipError(`the state store's lease was lost: ${err.message}`)));
      l.on("keepaliveFired", () => (firedAt = Date.now()));
      l.on("keepaliveSucceeded", () => (aliveFrom = firedAt));
      const t0 = Date.now();
      await l.grant();
      aliveFrom = t0;
      lease = l;
    }
    const leaseId = await lease.grant();
    const r = await client
      .if(key, "Create", "==", 0)
      .then(client.put(key).value(JSON.stringify(info)).lease(leaseId))
      .else(client.get(key))
      .commit();
    if (r.succeeded) {
      const held = lease;
      const token = Number(r.header.revision);
      // Notice at once when the key goes or is replaced (an operator, a lease revoked elsewhere),
      // rather than at the next write's fence.
      const gone = await client
        .watch()
        .key(key)
        .startRevision(String(token + 1))
        .create();
      const drop = (why: string) =>
        (lost ??= new LostLeadershipError(`${why}: another instance may lead ${o.env} now`));
      gone.on("delete", () => drop(`the leader key ${key} was deleted`));
      gone.on("put", (kv) => {
        if (Number(kv.create_revision) !== token) drop(`the leader key ${key} was replaced`);
      });
      return {
        token,
        info,
        ...(seen ? { previous: seen } : {}),
        check() {
          if (lost) throw lost;
          const silentMs = Date.now() - aliveFrom;
          if (silentMs >= ttlSeconds * 1000)
            throw new LostLeadershipError(
              `no keepalive of the state store's lease was answered for ${(silentMs / 1000).toFixed(1)} s ` +
                `(ttl ${ttlSeconds} s): another instance may lead ${o.env} now`,
            );
        },
        async resign() {
          await gone.cancel().catch(() => undefined);
          await client
            .if(key, "Create", "==", token)
            .then(client.delete().key(key))
            .commit()
            .catch(() => undefined);
          await held.revoke().catch(() => undefined);
        },
      };
    }
    const kv = r.responses[0]?.response_range?.kvs?.[0];
    if (!kv) continue; // deleted between compare and get: try again at once
    const cur = { ...leaderInfo(kv.value), token: Number(kv.create_revision) };
    if (Date.now() >= deadline) {
      await lease.revoke().catch(() => undefined);
      throw new RefusedError(
        `${o.env} is led by ${cur.holder} since ${cur.since} (token ${cur.token}) in the state store; ` +
          "wait for it, or pass --wait SECONDS (a --watch stands by until it goes)",
      );
    }
    if (seen?.token !== cur.token)
      o.log?.(`standing by: ${o.env} is led by ${cur.holder} (token ${cur.token}); taking over when it goes`);
    seen = cur;
    await changed(client, key, kv.mod_revision, Math.min(ttlSeconds * 1000, deadline - Date.now()), o.signal);
  }
}
