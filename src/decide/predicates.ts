/** Small named questions about nodes and members that the ladder composes. */
import type { ClusterStatus, EtcdMemberStatus, NodeStatus } from "../cluster/status.js";
import type { NodeSpec } from "../cluster/spec.js";
import type { EtcdNodeDesired } from "../ops/etcd/desired.js";
import { ETCD, peerURL } from "../ops/etcd/layout.js";

/** The node's status, or undefined when observe has none. */
export const nodeStatus = (s: ClusterStatus, n: NodeSpec): NodeStatus | undefined => s.nodes[n.name];

/** The node answered. */
export const isReachable = (s: ClusterStatus, n: NodeSpec): boolean => nodeStatus(s, n)?.reachable === true;

/** Some certificate file on the node differs from the desired one. */
export const etcdCertsOutdated = (st: NodeStatus, d: EtcdNodeDesired): boolean =>
  d.certs.some((f) => st.files[f.path] !== f.sha256);

/** Some service file on the node differs from the desired one. */
export const etcdFilesOutdated = (st: NodeStatus, d: EtcdNodeDesired): boolean =>
  d.files.some((f) => st.files[f.path] !== f.sha256);

/** A service file exists with other content (edited on the node, not merely absent). */
export const etcdFilesDrifted = (st: NodeStatus, d: EtcdNodeDesired): boolean =>
  d.files.some((f) => st.files[f.path] !== undefined && st.files[f.path] !== f.sha256);

/** The node holds etcd member data. */
export const hasEtcdData = (st: NodeStatus | undefined): boolean => st?.etcdData.hasMember === true;

/** The node's etcd process is up. */
export const etcdRunning = (st: NodeStatus | undefined): boolean => st?.services[ETCD.component]?.running === true;

/** The member this node's peer URL belongs to. */
export const memberOf = (s: ClusterStatus, n: NodeSpec): EtcdMemberStatus | undefined =>
  s.etcd.members.find((m) => m.peerURLs.includes(peerURL(n)));

/** The member has been started at least once (etcd reports its name). */
export const isStarted = (m: EtcdMemberStatus): boolean => m.name !== "";

/** The etcd bootstrap env on the node is the one a fresh cluster is started with. */
export const bootedAsNew = (st: NodeStatus | undefined, d: EtcdNodeDesired): boolean =>
  st?.files[ETCD.envFile] === d.bootstrapNewSha256;
