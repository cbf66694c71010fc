/**
 * The non-binary parts of the Kubernetes lab e2e test, kept apart so they are unit-tested where no
 * Kubernetes binaries exist: the inventory text (versions and sha256s from the binaries found at
 * test time), the binaries' checksums, the version a binary reports, a node's CNI config, and the
 * admin kubeconfig read back into a KubeEndpoint.
 */
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import type { KubeEndpoint } from "../../src/infra/kube-types.js";
import { parseKubeVersion } from "../../src/inventory/rules/syntax.js";
import { COMPONENT_BINARIES, type Taint } from "../../src/inventory/schema.js";
import { e2eSkipReason } from "../support/lab-cli.js";

/** One lab node of the test. */
export interface K8sLabNode {
  readonly name: string;
  readonly address: string;
  readonly role: "control-plane" | "worker";
  readonly labels?: Readonly<Record<string, string>>;
  readonly taints?: readonly Taint[];
}

/** Everything the inventory of the test names. */
export interface K8sLabInventory {
  readonly env: string;
  readonly bridge: string;
  readonly cidr: string;
  /** Kubernetes version without the leading v, as the binaries report it. */
  readonly version: string;
  /** sha256 of each component binary. */
  readonly sha256: Readonly<Record<string, string>>;
  readonly nodes: readonly K8sLabNode[];
  /**
   * The pod network. `bridge` needs no image; `calico` is for a test that plays the CNI add-on with
   * a stand-in bundle and writes the nodes' CNI config itself.
   * @default "bridge"
   */
  readonly cni?: "bridge" | "calico";
}

const q = (s: string) => JSON.stringify(s); // a JSON string is a valid YAML flow scalar

/** The inventory text: static lab nodes, local artifacts pinned to the given checksums. */
export function k8sLabInventoryText(l: K8sLabInventory): string {
  const node = (n: K8sLabNode) => {
    const labels = Object.entries(n.labels ?? {}).map(([k, v]) => `${q(k)}: ${q(v)}`);
    const taints = (n.taints ?? []).map((t) => `{ key: ${q(t.key)}, value: ${q(t.value)}, effect: ${t.effect} }`);
    return (
      `  - { name: ${n.name}, address: ${n.address}, role: ${n.role}` +
      (labels.length ? `, labels: { ${labels.join(", ")} }` : "") +
      (taints.length ? `, taints: [${taints.join(", ")}]` : "") +
      " }"
    );
  };
  return [
    `cluster: { name: ${l.env}, kubernetesVersion: ${q(l.version)} }`,
    `lab: { bridge: ${l.bridge}, cidr: ${l.cidr} }`,
    "staticNodes:",
    ...l.nodes.map(node),
    l.cni === "calico"
      ? "networking: { calico: { routeReflectors: { enabled: false } } }"
      : "networking: { cni: bridge }",
    "artifacts:",
    "  source: local",
    "  binaries:",
    ...COMPONENT_BINARIES.map((b) => `    ${b}: { version: ${q(l.version)}, sha256: ${q(l.sha256[b] ?? "")} }`),
    "",
  ].join("\n");
}

/** Hex sha256 of a file. */
export function sha256File(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

/** Why the binaries in `dir` cannot be used, or undefined when every component is there. */
export function missingBinaries(dir: string): string | undefined {
  const missing = COMPONENT_BINARIES.filter((b) => !existsSync(join(dir, b)));
  return missing.length ? `${dir} lacks ${missing.join(", ")}` : undefined;
}

/** sha256 of every component binary in `dir`. */
export function binaryChecksums(dir: string): Record<string, string> {
  return Object.fromEntries(COMPONENT_BINARIES.map((b) => [b, sha256File(join(dir, b))]));
}

/**
 * "Kubernetes v1.33.5" (what `kube-apiserver --version` prints) → "1.33.5"; a pre-release and build
 * metadata stay ("Kubernetes v1.24.0-alpha.1-lab" → "1.24.0-alpha.1-lab"), since the inventory must
 * name the binaries' whole release.
 */
export function parseVersionOutput(out: string): string {
  const m = /Kubernetes v(\S+)/.exec(out);
  if (!m || !parseKubeVersion(m[1]!))
    throw new Error(`cannot read a Kubernetes version from ${JSON.stringify(out.trim().slice(0, 200))}`);
  return m[1]!;
}

/** The version the binaries in `dir` report (kube-apiserver's). */
export function binaryVersion(dir: string): string {
  return parseVersionOutput(execFileSync(join(dir, "kube-apiserver"), ["--version"], { encoding: "utf8" }));
}

/** The first cluster and user of a kubeconfig with embedded credentials, as a KubeEndpoint. */
export function endpointFromKubeconfig(text: string): KubeEndpoint {
  const k = parse(text) as {
    clusters?: { cluster: { server: string; "certificate-authority-data": string } }[];
    users?: { user: { "client-certificate-data": string; "client-key-data": string } }[];
  };
  const cluster = k.clusters?.[0]?.cluster;
  const user = k.users?.[0]?.user;
  if (!cluster || !user) throw new Error("the kubeconfig has no cluster or no user");
  const pem = (b64: string) => Buffer.from(b64, "base64").toString("utf8");
  return {
    server: cluster.server,
    caPem: pem(cluster["certificate-authority-data"]),
    certPem: pem(user["client-certificate-data"]),
    keyPem: pem(user["client-key-data"]),
  };
}

/**
 * Why a lab e2e that runs the Kubernetes binaries cannot run here (`what` names it in the message),
 * or undefined: the lab's own prerequisites first, then YAGURA_KUBE_BIN_DIR and its contents.
 */
export function kubeE2eSkipReason(what: string, bin = process.env["YAGURA_KUBE_BIN_DIR"]): string | undefined {
  const lab = e2eSkipReason();
  if (lab) return lab.replace(/^etcd e2e/, what);
  if (bin === undefined || bin === "")
    return `${what} skipped: YAGURA_KUBE_BIN_DIR is not set (a directory holding ${COMPONENT_BINARIES.join(", ")})`;
  const missing = missingBinaries(bin);
  return missing ? `${what} skipped: YAGURA_KUBE_BIN_DIR: ${missing}` : undefined;
}
