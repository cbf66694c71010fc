/**
 * Issues (or reuses) every certificate of a Kubernetes certificate plan from the environment's
 * PKI. Leaves renew `renewBeforeMs` before they expire; the one-day admin certificate renews once
 * it is past half its life, since any usual window (30 days) would reissue it on every pass.
 */
import type { CaKind, IssueRequest, IssuedCert, Pki } from "./store.js";

/** One entry of a plan (the shape of k8s/certs.ts CertPlanEntry). */
export interface PlannedCert {
  readonly ca: CaKind;
  readonly request: IssueRequest;
}

/** PEMs of a plan, by request name, plus the CA certificates the nodes need. */
export interface IssuedSet {
  readonly certs: Readonly<Record<string, IssuedCert>>;
  readonly caPems: Readonly<Record<CaKind, string>>;
  /** Names of the certificates issued by this call (renewed or new), for the operator's log. */
  readonly issued: readonly string[];
}

const DAY_MS = 86_400_000;

/** The renewal window of a certificate that lives `validityDays`: the usual one, at most half its life. */
export function renewWindowMs(validityDays: number | undefined, renewBeforeMs: number): number {
  if (validityDays === undefined) return renewBeforeMs;
  return Math.min(renewBeforeMs, (validityDays * DAY_MS) / 2);
}

/** Loads or issues every planned certificate (in parallel; the store serialises per file). */
export async function issuePlan(
  pki: Pki,
  plan: readonly PlannedCert[],
  now: Date,
  renewBeforeMs: number,
): Promise<IssuedSet> {
  const results = await Promise.all(
    plan.map((e) => pki.loadOrIssue(e.ca, e.request, now, renewWindowMs(e.request.validityDays, renewBeforeMs))),
  );
  const certs: Record<string, IssuedCert> = {};
  const issued: string[] = [];
  plan.forEach((e, i) => {
    const r = results[i]!;
    certs[e.request.name] = { certPem: r.certPem, keyPem: r.keyPem, caPem: r.caPem };
    if (r.issued) issued.push(e.request.name);
  });
  const [kubernetes, frontProxy, etcdPeer, etcdClient] = await Promise.all(
    (["kubernetes", "front-proxy", "etcd-peer", "etcd-client"] as const).map((k) => pki.ensureCA(k, now)),
  );
  return {
    certs,
    caPems: { kubernetes: kubernetes!, "front-proxy": frontProxy!, "etcd-peer": etcdPeer!, "etcd-client": etcdClient! },
    issued,
  };
}
