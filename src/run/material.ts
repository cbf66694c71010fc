/**
 * Prepares what decide and the ops need from the operator's side: etcd certificates issued (or
 * reused) from the environment's PKI, the desired files built from them, and yagura's own etcd
 * client certificate. Issuing happens here, locally; nothing reaches a node.
 */
import type { ClusterSpec } from "../cluster/spec.js";
import { controlPlane } from "../cluster/spec.js";
import type { KubeEndpoint } from "../infra/kube-types.js";
import type { EtcdTls } from "../infra/types.js";
import { buildDesired, type Desired, type EtcdMemberPems } from "../ops/etcd/desired.js";
import { etcdAdminClient, etcdMemberCerts, openPki } from "../pki/index.js";

/** Desired state plus the admin client's TLS material. */
export interface Material {
  readonly desired: Desired;
  readonly adminTls: EtcdTls;
  /** How yagura reaches the Kubernetes API (admin client certificate); absent in scope etcd. */
  readonly kube?: KubeEndpoint;
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses an inventory duration ("30d", "5m") to milliseconds. */
export function durationMs(d: string): number {
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(d);
  if (!m) throw new Error(`invalid duration ${JSON.stringify(d)}`);
  return Number(m[1]) * UNITS[m[2]!]!;
}

/** Loads or issues every certificate the etcd rungs need and builds the desired state. */
export async function prepareMaterial(spec: ClusterSpec, pkiDir: string, now: Date): Promise<Material> {
  const pki = openPki(pkiDir);
  const renew = durationMs(spec.inventory.reconciler?.certRenewBefore ?? "30d");
  const pems: Record<string, EtcdMemberPems> = {};
  for (const node of controlPlane(spec)) {
    const { peer, server } = await etcdMemberCerts(pki, node, now, renew);
    pems[node.name] = {
      peerCA: peer.caPem,
      clientCA: server.caPem,
      peerCert: peer.certPem,
      peerKey: peer.keyPem,
      serverCert: server.certPem,
      serverKey: server.keyPem,
    };
  }
  const admin = await etcdAdminClient(pki, now, renew);
  return { desired: buildDesired(spec, pems), adminTls: { ca: admin.caPem, cert: admin.certPem, key: admin.keyPem } };
}
