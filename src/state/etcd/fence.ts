/**
 * Fenced writes: one etcd transaction whose compare checks that the leader key still exists with
 * this holder's create revision (its fencing token). A holder whose lease ran out, or whose key was
 * replaced by another instance's, has every write refused with LostLeadershipError.
 */
import type { Etcd3, IOperation } from "etcd3";
import { LostLeadershipError } from "../types.js";

/** What the leader key holds. */
export interface LeaderInfo {
  /** `host:pid`, as records name their writer. */
  readonly holder: string;
  readonly since: string;
}

/** Parses a leader key's value (tolerating a foreign one). */
export function leaderInfo(value: Buffer | string | undefined): LeaderInfo {
  try {
    const v = JSON.parse(String(value)) as Partial<LeaderInfo>;
    return { holder: String(v.holder ?? "unknown"), since: String(v.since ?? "unknown") };
  } catch {
    return { holder: "unknown", since: "unknown" };
  }
}

/** Runs `ops` only while `leaderKey` was created at revision `token`; else throws LostLeadershipError. */
export async function fencedTxn(
  client: Etcd3,
  leaderKey: string,
  token: number,
  ops: readonly IOperation[],
): Promise<void> {
  const r = await client
    .if(leaderKey, "Create", "==", token)
    .then(...ops)
    .else(client.get(leaderKey))
    .commit();
  if (r.succeeded) return;
  const kv = r.responses[0]?.response_range?.kvs?.[0];
  const now = kv
    ? `it is led by ${leaderInfo(kv.value).holder} (token ${kv.create_revision})`
    : "nobody leads it (the lease ran out)";
  throw new LostLeadershipError(
    `write refused by the state store: this instance's leadership (token ${token}) is gone; ${now}. ` +
      "Nothing more is done under the old token; a watch campaigns again",
  );
}
