/**
 * Where etcd lives on a control-plane node and how it is started: paths, URLs, the service
 * definition (flags), and the bootstrap environment file that only matters at first start.
 */
import { posix } from "node:path";
import { NODE_PATHS } from "../../cluster/paths.js";
import type { NodeSpec } from "../../cluster/spec.js";
import { shq } from "../../infra/shell.js";
import type { ServiceDef } from "../../supervisor/types.js";

const pki = NODE_PATHS.etcdPkiDir;

/** Fixed etcd paths on a node. */
export const ETCD = {
  component: "etcd",
  binary: "/usr/bin/etcd",
  dataDir: NODE_PATHS.etcdDataDir,
  memberDir: posix.join(NODE_PATHS.etcdDataDir, "member"),
  /** Initial-cluster settings, read at start; ignored by etcd once the data dir holds a member. */
  envFile: posix.join(NODE_PATHS.yaguraDir, "etcd", "bootstrap.env"),
  peerCA: posix.join(pki, "peer-ca.crt"),
  peerCert: posix.join(pki, "peer.crt"),
  peerKey: posix.join(pki, "peer.key"),
  clientCA: posix.join(pki, "ca.crt"),
  serverCert: posix.join(pki, "server.crt"),
  serverKey: posix.join(pki, "server.key"),
} as const;

/** The peer URL of a node's member. */
export function peerURL(node: Pick<NodeSpec, "address">): string {
  return `https://${node.address}:2380`;
}

/** The client URL of a node's member. */
export function clientURL(node: Pick<NodeSpec, "address">): string {
  return `https://${node.address}:2379`;
}

/** The etcd service of a control-plane node: TLS everywhere, client and peer certificate auth. */
export function etcdServiceDef(node: Pick<NodeSpec, "name" | "address">): ServiceDef {
  return {
    name: ETCD.component,
    description: `etcd member ${node.name}`,
    environmentFile: ETCD.envFile,
    argv: [
      ETCD.binary,
      `--name=${node.name}`,
      `--data-dir=${ETCD.dataDir}`,
      `--listen-client-urls=${clientURL(node)},https://127.0.0.1:2379`,
      `--advertise-client-urls=${clientURL(node)}`,
      `--listen-peer-urls=${peerURL(node)}`,
      `--initial-advertise-peer-urls=${peerURL(node)}`,
      `--cert-file=${ETCD.serverCert}`,
      `--key-file=${ETCD.serverKey}`,
      `--trusted-ca-file=${ETCD.clientCA}`,
      "--client-cert-auth=true",
      `--peer-cert-file=${ETCD.peerCert}`,
      `--peer-key-file=${ETCD.peerKey}`,
      `--peer-trusted-ca-file=${ETCD.peerCA}`,
      "--peer-client-cert-auth=true",
      "--snapshot-count=10000",
      "--auto-compaction-retention=1h",
    ],
  };
}

/** A member of the initial cluster. */
export interface InitialMember {
  readonly name: string;
  readonly peerURL: string;
}

/** The bootstrap environment file: quoted for sh (runit) and systemd's EnvironmentFile alike. */
export function bootstrapEnv(members: readonly InitialMember[], state: "new" | "existing", token: string): string {
  const cluster = members.map((m) => `${m.name}=${m.peerURL}`).join(",");
  return (
    `# Read by etcd at its first start only. Written by yagura.\n` +
    `ETCD_INITIAL_CLUSTER=${shq(cluster)}\n` +
    `ETCD_INITIAL_CLUSTER_STATE=${state}\n` +
    `ETCD_INITIAL_CLUSTER_TOKEN=${shq(token)}\n`
  );
}
