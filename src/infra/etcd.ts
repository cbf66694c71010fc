/**
 * EtcdAdmin on the etcd3 client (gRPC, TLS with a client certificate). etcd3 1.1.2 carries
 * etcd 3.4's MemberAdd `isLearner` and MemberPromote, and decodes uint64 fields as decimal
 * strings (proto-loader `longs: String`), so member ids never pass through a JS number.
 */
import { Etcd3, GRPCDeadlineExceededError, GRPCUnavailableError, type IMember, type IOptions } from "etcd3";
import { OperationFailedError } from "../cli/errors.js";
import { ETCD_SERVER_NAME } from "../pki/etcd.js";
import type { EtcdAdmin, EtcdEndpointStatus, EtcdMember, EtcdTls } from "./types.js";

/** Timeouts of the admin client. */
export interface EtcdAdminOptions {
  /** Per endpointStatus call, connect included. @default 2000 */
  readonly statusTimeoutMs?: number;
  /** Per call of the cluster-wide client. @default 10000 */
  readonly callTimeoutMs?: number;
}

type Policy = NonNullable<NonNullable<IOptions["faultHandling"]>["global"]>;

/**
 * No circuit breaker and no blind retries: etcd answers a refused membership change ("unhealthy
 * cluster") with UNAVAILABLE, which etcd3's defaults would retry and then count against the host.
 * Only a failure to reach a member moves the call on to the next endpoint; everything else is
 * the caller's to decide on the next pass.
 */
function failover(attempts: number): Policy {
  const policy = {
    async execute<T>(fn: (ctx: { signal: AbortSignal; attempt: number }) => PromiseLike<T> | T): Promise<T> {
      const signal = new AbortController().signal;
      for (let attempt = 0; ; attempt++) {
        try {
          return await fn({ signal, attempt });
        } catch (err) {
          if (attempt + 1 >= attempts || !unreachable(err)) throw err;
        }
      }
    },
  };
  return policy as unknown as Policy;
}

/**
 * A member that could not be reached (gRPC UNAVAILABLE from the transport, or no answer before
 * the deadline), as opposed to etcd refusing the request (messages starting "etcdserver:").
 * Moving on is safe: reads and puts are idempotent, and etcd refuses a duplicate peer URL.
 */
function unreachable(err: unknown): boolean {
  const e = err as { code?: number; message?: string };
  const transport = err instanceof GRPCUnavailableError || err instanceof GRPCDeadlineExceededError || e?.code === 14;
  // A learner answers most calls with this; it did not act on the request, so another member may.
  if (/rpc not supported for learner/.test(e?.message ?? "")) return true;
  return transport && !/etcdserver:/.test(e.message ?? "");
}

/**
 * gRPC (grpc-js) sends the dialed host as the TLS server name, and members are dialed by IP
 * address: Node warns (DEP0123) that RFC 6066 forbids an IP address there, and means to refuse it
 * (nodejs/node#58533); grpc-js leaves the name to the caller (grpc/grpc-node#1919). So the client
 * names the server ETCD_SERVER_NAME, which every serving certificate yagura issues a member carries,
 * and verifies that name: the server holds a member certificate of this cluster's etcd-client CA.
 */
export const ETCD_GRPC_OPTIONS = { "grpc.ssl_target_name_override": ETCD_SERVER_NAME } as const;

/** etcd3 client options for `hosts` with yagura's TLS, failover and per-call deadline. */
export function clientOptions(hosts: string[], tls: EtcdTls, timeoutMs: number): IOptions {
  return {
    hosts,
    grpcOptions: ETCD_GRPC_OPTIONS,
    credentials: {
      rootCertificate: Buffer.from(tls.ca),
      certChain: Buffer.from(tls.cert),
      privateKey: Buffer.from(tls.key),
    },
    dialTimeout: timeoutMs,
    faultHandling: { global: failover(hosts.length), host: () => failover(1) },
    // A fresh deadline per attempt: without one a call to a dead member waits forever.
    defaultCallOptions: () => ({ deadline: Date.now() + timeoutMs }),
  };
}

function toMember(m: IMember): EtcdMember {
  return {
    id: String(m.ID),
    name: m.name ?? "",
    peerURLs: [...(m.peerURLs ?? [])],
    clientURLs: [...(m.clientURLs ?? [])],
    isLearner: Boolean(m.isLearner),
  };
}

/** Member ids are uint64: accept decimal (as members() returns) or 0x-prefixed hex (as etcdctl prints). */
export function memberIdToDecimal(id: string): string {
  if (/^[0-9]+$/.test(id)) return BigInt(id).toString(10);
  if (/^0x[0-9a-f]+$/i.test(id)) return BigInt(id).toString(10);
  throw new Error(`invalid etcd member id ${JSON.stringify(id)}: expected decimal digits or 0x-prefixed hex`);
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new OperationFailedError(`etcd ${what}: no answer within ${ms} ms; check that the members run`)),
      ms,
    );
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** Creates an admin client for the members at `endpoints` (https://host:2379). */
export function createEtcdAdmin(endpoints: string[], tls: EtcdTls, opts: EtcdAdminOptions = {}): EtcdAdmin {
  if (endpoints.length === 0) throw new Error("createEtcdAdmin needs at least one endpoint");
  const statusTimeoutMs = opts.statusTimeoutMs ?? 2000;
  const client = new Etcd3(clientOptions(endpoints, tls, opts.callTimeoutMs ?? 10_000));

  return {
    // etcd 3.4 answers MemberList from the contacted member's view (3.5 added a linearizable
    // option), so a change committed a moment ago may not show yet; the next pass sees it.
    async members() {
      const r = await client.cluster.memberList({});
      return r.members.map(toMember);
    },

    async endpointStatus(endpoint) {
      // Its own client, so the answer comes from that member and not from whichever host the
      // shared client would pick; the race bounds the time even across the client's retries.
      let one: Etcd3 | undefined;
      try {
        one = new Etcd3(clientOptions([endpoint], tls, statusTimeoutMs));
        const s = await withTimeout(one.maintenance.status({}), statusTimeoutMs, endpoint);
        const result: EtcdEndpointStatus = {
          endpoint,
          healthy: s.errors.length === 0 && s.leader !== "0",
          memberId: String(s.header.member_id),
          leaderId: String(s.leader),
          raftIndex: Number(s.raftIndex),
          raftAppliedIndex: Number(s.raftAppliedIndex),
          isLearner: Boolean(s.isLearner),
        };
        if (!result.healthy) {
          return { ...result, error: s.errors.length > 0 ? s.errors.join("; ") : "no leader" };
        }
        return result;
      } catch (err) {
        return { endpoint, healthy: false, error: err instanceof Error ? err.message : String(err) };
      } finally {
        one?.close();
      }
    },

    async addLearner(peerURL) {
      const r = await client.cluster.memberAdd({ peerURLs: [peerURL], isLearner: true });
      return toMember(r.member);
    },

    async promote(memberId) {
      await client.cluster.memberPromote({ ID: memberIdToDecimal(memberId) });
    },

    async remove(memberId) {
      await client.cluster.memberRemove({ ID: memberIdToDecimal(memberId) });
    },

    async put(key, value) {
      await client.put(key).value(value);
    },

    async get(key) {
      return (await client.get(key).string()) ?? undefined;
    },

    async close() {
      client.close();
    },
  };
}
