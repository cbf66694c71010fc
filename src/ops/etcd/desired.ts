/**
 * What etcd should look like on each control-plane node: certificate files, service files and
 * the fingerprint of the service definition. Built once per pass from the spec and the issued
 * certificates, then read by both decide (hashes) and the ops (contents).
 */
import type { ClusterSpec, NodeSpec } from "../../cluster/spec.js";
import type { K8sDesired } from "../../k8s/desired.js";
import type { AddonsDesired } from "../../addons/desired.js";
import { controlPlane } from "../../cluster/spec.js";
import { fingerprintFiles, sha256 } from "../../supervisor/fingerprint.js";
import { supervisorFor } from "../../supervisor/index.js";
import type { ManagedFile, Supervisor } from "../../supervisor/types.js";
import { bootstrapEnv, ETCD, etcdServiceDef, peerURL } from "./layout.js";

/** A managed file with its hash. */
export type DesiredFile = ManagedFile & { readonly sha256: string };

/** The certificate and key PEMs one member needs. */
export interface EtcdMemberPems {
  readonly peerCA: string;
  readonly clientCA: string;
  readonly peerCert: string;
  readonly peerKey: string;
  readonly serverCert: string;
  readonly serverKey: string;
}

/** etcd's desired state on one node. */
export interface EtcdNodeDesired {
  readonly node: NodeSpec;
  readonly supervisor: Supervisor;
  readonly certs: readonly DesiredFile[];
  readonly files: readonly DesiredFile[];
  readonly fingerprint: string;
  /** sha256 of the bootstrap env file a fresh cluster is started with. */
  readonly bootstrapNewSha256: string;
}

/** Desired state of every component this version of yagura manages. */
export interface Desired {
  readonly etcd: Readonly<Record<string, EtcdNodeDesired>>;
  /** Initial-cluster token (the environment's name). */
  readonly etcdToken: string;
  /** The Kubernetes components (k8s/desired.ts); absent in scope etcd. */
  readonly k8s?: K8sDesired;
  /** Cluster objects of the add-ons (addons/desired.ts); absent in scope etcd or without bundles. */
  readonly addons?: AddonsDesired;
}

const withHash = (f: ManagedFile): DesiredFile => ({ ...f, sha256: sha256(f.content) });

/** The cert files of one member from its PEMs. */
export function etcdCertFiles(p: EtcdMemberPems): DesiredFile[] {
  return [
    { path: ETCD.peerCA, content: p.peerCA, mode: 0o644 },
    { path: ETCD.clientCA, content: p.clientCA, mode: 0o644 },
    { path: ETCD.peerCert, content: p.peerCert, mode: 0o644 },
    { path: ETCD.peerKey, content: p.peerKey, mode: 0o600, secret: true },
    { path: ETCD.serverCert, content: p.serverCert, mode: 0o644 },
    { path: ETCD.serverKey, content: p.serverKey, mode: 0o600, secret: true },
  ].map(withHash);
}

/** Builds the desired state from the spec and each control-plane node's PEMs (pure). */
export function buildDesired(spec: ClusterSpec, pems: Readonly<Record<string, EtcdMemberPems>>): Desired {
  const cps = controlPlane(spec);
  const newEnv = bootstrapEnv(
    cps.map((n) => ({ name: n.name, peerURL: peerURL(n) })),
    "new",
    spec.env,
  );
  const etcd: Record<string, EtcdNodeDesired> = {};
  for (const node of cps) {
    const p = pems[node.name];
    if (!p) throw new Error(`no etcd certificates prepared for ${node.name} (a bug in yagura)`);
    const supervisor = supervisorFor(node);
    const files = supervisor.render(etcdServiceDef(node)).map(withHash);
    etcd[node.name] = {
      node,
      supervisor,
      certs: etcdCertFiles(p),
      files,
      fingerprint: fingerprintFiles(files),
      bootstrapNewSha256: sha256(newEnv),
    };
  }
  return { etcd, etcdToken: spec.env };
}

/** Every path observe should hash on a node. */
export function observedPaths(desired: Desired, node: string): string[] {
  const d = desired.etcd[node];
  if (!d) return [];
  return [...d.certs.map((f) => f.path), ...d.files.map((f) => f.path), ETCD.envFile];
}

/** The fingerprint each supervised component of a node should run with: etcd, the runtime, Kubernetes. */
export function expectedFingerprints(desired: Desired, node: string): Record<string, string> {
  const out: Record<string, string> = {};
  const e = desired.etcd[node];
  if (e) out["etcd"] = e.fingerprint;
  const k = desired.k8s?.nodes[node];
  if (k) {
    out[k.runtime.name] = k.runtime.fingerprint;
    for (const c of k.components) out[c.name] = c.fingerprint;
  }
  return out;
}
