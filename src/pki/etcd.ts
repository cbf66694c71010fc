/**
 * The certificates an etcd cluster needs, named so the ops can find them: per member a peer
 * certificate (etcd-peer CA) and a serving certificate (etcd-client CA), and one client
 * certificate for yagura itself. Peer and client trust are separate CAs, so a leaked client
 * certificate cannot join the cluster as a peer.
 */
import type { IssuedCert, Pki } from "./store.js";

/** The node an etcd member runs on. */
export interface EtcdNode {
  readonly name: string;
  readonly address: string;
}

/** Common name and file stem of yagura's own etcd client certificate. */
export const ETCD_ADMIN_CN = "yagura";

/**
 * The DNS name every member's serving certificate carries: yagura's clients dial members by IP
 * address and verify this name instead (infra/etcd.ts says why).
 */
export const ETCD_SERVER_NAME = "localhost";

function memberNames(node: EtcdNode) {
  return { dnsNames: [node.name, ETCD_SERVER_NAME], ipAddresses: [node.address, "127.0.0.1"] };
}

/** Peer (server+client, etcd-peer CA) and serving (server, etcd-client CA) certificates of one member. */
export async function etcdMemberCerts(
  pki: Pki,
  node: EtcdNode,
  now: Date,
  renewBeforeMs: number,
): Promise<{ peer: IssuedCert & { issued: boolean }; server: IssuedCert & { issued: boolean } }> {
  const names = memberNames(node);
  const [peer, server] = await Promise.all([
    pki.loadOrIssue(
      "etcd-peer",
      { name: `etcd-peer-${node.name}`, commonName: node.name, ...names, usages: ["server", "client"] },
      now,
      renewBeforeMs,
    ),
    pki.loadOrIssue(
      "etcd-client",
      { name: `etcd-server-${node.name}`, commonName: node.name, ...names, usages: ["server"] },
      now,
      renewBeforeMs,
    ),
  ]);
  return { peer, server };
}

/** yagura's client certificate for etcd (etcd-client CA, CN `yagura`, clientAuth only). */
export function etcdAdminClient(pki: Pki, now: Date, renewBeforeMs: number): Promise<IssuedCert & { issued: boolean }> {
  return pki.loadOrIssue(
    "etcd-client",
    { name: "etcd-admin", commonName: ETCD_ADMIN_CN, dnsNames: [], ipAddresses: [], usages: ["client"] },
    now,
    renewBeforeMs,
  );
}
