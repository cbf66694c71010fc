/**
 * Prepares what decide and the ops need from the operator's side: certificates issued (or reused)
 * from the environment's PKI, the desired files built from them, and yagura's own client
 * certificates (etcd; in scope all also the Kubernetes admin). Issuing happens here, locally;
 * nothing reaches a node. In scope etcd nothing of Kubernetes is read or issued, so an inventory
 * without a Kubernetes section keeps working as before.
 */
import { issuedHostKeys } from "../pki/host-keys.js";
import { sha256File } from "../infra/file-digest.js";
import { prepareAddons } from "../addons/prepare.js";
import type { ClusterSpec } from "../cluster/spec.js";
import { controlPlane } from "../cluster/spec.js";
import type { KubeEndpoint } from "../infra/kube-types.js";
import type { EtcdTls } from "../infra/types.js";
import {
  planArtifacts,
  type ArtifactEnv,
  type ArtifactPlanResult,
  type Component,
  type ReleaseContext,
} from "../k8s/artifacts.js";
import { releaseFile } from "../k8s/release.js";
import { DownloadError, publishedChecksum, releaseCacheDir } from "../k8s/release-download.js";
import { artifactSource, COMPONENT_BINARIES, DEFAULT_RELEASE_URL } from "../inventory/schema.js";
import { parseDuration } from "../inventory/rules/syntax.js";
import { K8S_CERT, k8sCertPlan } from "../k8s/certs.js";
import { LOCAL_RELEASE, localReleaseProblem } from "../k8s/local-release.js";
import { OperationFailedError, UserError } from "../cli/errors.js";
import { buildK8sDesired, type K8sDesired } from "../k8s/desired.js";
import { buildDesired, type Desired, type EtcdMemberPems } from "../ops/etcd/desired.js";
import { ensureEncryptionKey, etcdAdminClient, etcdMemberCerts, issuePlan, openPki, type Pki } from "../pki/index.js";

/** Desired state plus the admin client's TLS material. */
export interface Material {
  readonly desired: Desired;
  readonly adminTls: EtcdTls;
  /** How yagura reaches the Kubernetes API (admin client certificate); absent in scope etcd. */
  readonly kube?: KubeEndpoint;
  /** SSH host keys yagura issued (node → `ssh-ed25519 AAAA…`), pinned besides known_hosts. */
  readonly hostKeys?: ReadonlyMap<string, string>;
}

/** Options of prepareMaterial. */
export interface MaterialOptions {
  /** @default "all" */
  readonly scope?: "etcd" | "all";
  /** Environment variables that steer artifacts (YAGURA_KUBE_BIN_DIR). @default process.env */
  readonly env?: ArtifactEnv;
  /** The API load balancer's address, when the stack has one. */
  readonly apiEndpoint?: string;
  /** The inventory file: add-on bundle sources are relative to it; without it no add-on is prepared. */
  readonly inventoryFile?: string;
  /** Where release downloads are kept. @default releaseCacheDir(env) */
  readonly cacheDir?: string;
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses an inventory duration ("30d", "5m") to milliseconds. */
export function durationMs(d: string): number {
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(d);
  if (!m) throw new Error(`invalid duration ${JSON.stringify(d)}`);
  return Number(m[1]) * UNITS[m[2]!]!;
}

/** Loads or issues every certificate the rungs of `scope` need and builds the desired state. */
export async function prepareMaterial(
  spec: ClusterSpec,
  pkiDir: string,
  now: Date,
  o: MaterialOptions = {},
): Promise<Material> {
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
  const etcd = buildDesired(spec, pems);
  const adminTls = { ca: admin.caPem, cert: admin.certPem, key: admin.keyPem };
  const hostKeys = issuedHostKeys(
    pkiDir,
    spec.nodes.map((n) => n.name),
  );
  if ((o.scope ?? "all") === "etcd") return { desired: etcd, adminTls, hostKeys };
  const k = await prepareK8s(spec, pki, now, renew, o);
  const addons = o.inventoryFile ? await prepareAddons(spec, { inventoryFile: o.inventoryFile }) : undefined;
  return {
    desired: { ...etcd, k8s: k.desired, ...(addons ? { addons } : {}) },
    adminTls,
    kube: k.kube,
    hostKeys,
  };
}

/** The Kubernetes certificates, keys and artifacts; the admin endpoint for the API client. */
async function prepareK8s(
  spec: ClusterSpec,
  pki: Pki,
  now: Date,
  renew: number,
  o: MaterialOptions,
): Promise<{ desired: K8sDesired; kube: KubeEndpoint }> {
  if (spec.inventory.cluster.kubernetesVersion === LOCAL_RELEASE)
    throw new UserError(localReleaseProblem(spec.inventory, o.env ?? process.env));
  const plan = k8sCertPlan(spec, o.apiEndpoint !== undefined ? { apiEndpoint: o.apiEndpoint } : {});
  const [issued, serviceAccount, encryption] = await Promise.all([
    issuePlan(pki, plan, now, renew),
    pki.ensureServiceAccountKey(),
    ensureEncryptionKey(pki.dir),
  ]);
  const artifactPlan = planArtifacts(spec.inventory.artifacts, o.env ?? process.env, await releaseContext(spec, o));
  const desired = buildK8sDesired(spec, {
    pems: {
      certs: issued.certs,
      kubernetesCA: issued.caPems.kubernetes,
      frontProxyCA: issued.caPems["front-proxy"],
      serviceAccount,
    },
    encryption,
    artifacts: { plan: artifactPlan, localProblems: await checkLocalArtifacts(artifactPlan) },
    ...(o.apiEndpoint !== undefined ? { apiEndpoint: o.apiEndpoint } : {}),
  });
  const a = issued.certs[K8S_CERT.admin]!;
  return {
    desired,
    kube: { server: desired.apiServerUrl, caPem: issued.caPems.kubernetes, certPem: a.certPem, keyPem: a.keyPem },
  };
}

/**
 * For source release: the published checksum of every binary the inventory does not pin (read once,
 * then kept in the cache). A release or mirror without the file is the inventory's to fix (exit 1);
 * a server that does not answer is a failed operation (exit 3).
 */
async function releaseContext(spec: ClusterSpec, o: MaterialOptions): Promise<ReleaseContext | undefined> {
  const a = spec.inventory.artifacts;
  if (artifactSource(a) !== "release") return undefined;
  const version = spec.inventory.cluster.kubernetesVersion;
  const cacheDir = o.cacheDir ?? releaseCacheDir(o.env ?? process.env);
  const idleTimeoutMs = parseDuration(a.downloadTimeout) ?? 30_000;
  const published: Partial<Record<Component, string>> = {};
  try {
    for (const name of COMPONENT_BINARIES) {
      if (a.binaries[name]) continue;
      const f = releaseFile(a.releaseUrl ?? DEFAULT_RELEASE_URL, version, a.arch, name, cacheDir);
      published[name] = await publishedChecksum(f, { idleTimeoutMs });
    }
  } catch (err) {
    if (!(err instanceof DownloadError)) throw err;
    if (err.reason === "not-found") throw new UserError(err.message);
    throw new OperationFailedError(err.message);
  }
  return { version, cacheDir, published };
}

// Binaries are large and a watch hashes them every pass: the digest is reused while the file holds.
async function fileSha256(path: string): Promise<string | undefined> {
  try {
    return await sha256File(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

/** For source local: the binaries the local directory cannot provide (missing, or another sha256). */
export async function checkLocalArtifacts(plan: ArtifactPlanResult): Promise<Partial<Record<Component, string>>> {
  const out: Partial<Record<Component, string>> = {};
  if (!plan.ok) return out;
  for (const p of plan.plans) {
    if (p.origin.kind !== "local") continue;
    const o = p.origin;
    const have = await fileSha256(o.path);
    if (have === p.sha256) continue;
    out[p.name] =
      (have === undefined
        ? `${o.path} does not exist on this machine`
        : `${o.path} on this machine has sha256 ${have}`) +
      `; expected ${p.name} ${p.version} with sha256 ${p.sha256}: put the right file there (the directory is set by ${o.via}), or correct artifacts.binaries.${p.name}.sha256`;
  }
  return out;
}
