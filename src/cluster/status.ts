/**
 * ClusterStatus: what observe saw, per node and for the etcd cluster, plus the conditions that
 * `yagura status` prints. Everything here is data and pure functions over it.
 */
import type { KubeNode } from "../infra/kube-types.js";
import type { ArtifactVerdict } from "../k8s/artifacts.js";
import type { EtcdMember } from "../infra/types.js";

/** One supervised component on a node (etcd, later kube-apiserver …). */
export interface ServiceStatus {
  /** The service is defined and enabled (runit: linked into the scan dir; systemd: unit enabled). */
  readonly present: boolean;
  /** The supervisor reports the process up. */
  readonly running: boolean;
  /** Fingerprint yagura wrote when it last (re)started the component; absent when never started. */
  readonly fingerprint?: string;
  readonly pid?: number;
}

/** What one node reported in its single observe round trip. */
export interface NodeStatus {
  readonly name: string;
  readonly reachable: boolean;
  /** Why the node is unreachable (host key mismatch, timeout …). */
  readonly error?: string;
  /**
   * `ok` and `missing` cover what every node needs (etcd's rungs stop on them); `kubernetesMissing`
   * what only the Kubernetes rungs need (container runtime, CNI plugins), absent when nothing is.
   */
  readonly prerequisites: {
    readonly ok: boolean;
    readonly missing: readonly string[];
    readonly kubernetesMissing?: readonly string[];
  };
  readonly services: Readonly<Record<string, ServiceStatus>>;
  /** sha256 of each yagura-managed file by path; a missing file has no entry. */
  readonly files: Readonly<Record<string, string>>;
  readonly etcdData: { readonly present: boolean; readonly hasMember: boolean };
  /** Kubernetes binaries by name (kube-apiserver …) and what the node has; absent when not observed. */
  readonly artifacts?: Readonly<Record<string, ArtifactVerdict>>;
  /** The kubelet's boot gate holds this boot's id; absent when not observed. */
  readonly bootGateOpen?: boolean;
  /**
   * Health probes on the node's loopback by component (true: answered ok). A component with no
   * entry was not probed (the node has no curl): its health is left to the API side.
   */
  readonly health?: Readonly<Record<string, boolean>>;
  /** Static IPv4 routes (`ip route … proto static`), observed for the bridge pod network only. */
  readonly routes?: readonly { readonly dst: string; readonly via: string }[];
  /**
   * The mode kube-proxy reports it runs in (iptables, ipvs, nftables); absent when not observed or
   * when kube-proxy did not answer. It can differ from the configured mode: kube-proxy falls back
   * to iptables when the kernel lacks what ipvs needs.
   */
  readonly proxyMode?: string;
}

/** One etcd member as seen through the admin client (its `name` is empty until it first starts). */
export interface EtcdMemberStatus extends EtcdMember {
  readonly healthy: boolean;
  /** Raft applied index close to the leader's. */
  readonly inSync: boolean;
  readonly error?: string;
}

/** The etcd cluster: members (empty when no endpoint answered) and the reason when none did. */
export interface EtcdClusterStatus {
  readonly members: readonly EtcdMemberStatus[];
  readonly leaderId?: string;
  readonly error?: string;
}

/** The environment's etcd snapshots as observe found them in the local store. */
export interface BackupStatus {
  /** ISO time the newest snapshot was taken; absent when there is none. */
  readonly lastTakenAt?: string;
  /** Why the store could not be read (the snapshot rung then refuses instead of guessing). */
  readonly error?: string;
}

/** One object yagura manages in the cluster, as observe found it. */
export interface KubeObjectStatus {
  /** The `yagura.io/revision` annotation; absent when the object has none. */
  readonly revision?: string;
  /** CRDs: the Established condition is True. */
  readonly established?: boolean;
}

/** The cluster as the Kubernetes API shows it. */
export interface KubeStatus {
  /** GET /readyz answered ok. */
  readonly ready: boolean;
  /** Why the API could not be read (connection refused, TLS, timeout …). */
  readonly error?: string;
  /** The default/default ServiceAccount exists: the controller manager works. */
  readonly defaultServiceAccount: boolean;
  /** Registered Nodes by name. */
  readonly nodes: Readonly<Record<string, KubeNode>>;
  /** Readiness of watched DaemonSets' pods: `namespace/name` → node name → pod Ready. */
  readonly daemonSetPods: Readonly<Record<string, Readonly<Record<string, boolean>>>>;
  /** CSI drivers registered on each node (from CSINode objects). */
  readonly csiDrivers: Readonly<Record<string, readonly string[]>>;
  /** Watched managed objects by key (`apiVersion/kind/namespace/name`); a missing object has no entry. */
  readonly objects: Readonly<Record<string, KubeObjectStatus>>;
}

/** Everything decide() looks at. */
export interface ClusterStatus {
  readonly nodes: Readonly<Record<string, NodeStatus>>;
  readonly etcd: EtcdClusterStatus;
  /** Absent when backups were not observed: the snapshot rung then does nothing. */
  readonly backup?: BackupStatus;
  /** Absent when the API was not observed (scope etcd, or no API endpoint yet). */
  readonly kube?: KubeStatus;
}

/** A cluster-api style condition. */
export interface Condition {
  readonly type: string;
  readonly status: "True" | "False" | "Unknown";
  readonly reason: string;
  readonly message: string;
}

/** A node status for a node that did not answer. */
export function unreachableNode(name: string, error: string): NodeStatus {
  return {
    name,
    reachable: false,
    error,
    prerequisites: { ok: false, missing: [] },
    services: {},
    files: {},
    etcdData: { present: false, hasMember: false },
  };
}

/** Voting members (learners do not count towards quorum). */
export function votingMembers(etcd: EtcdClusterStatus): EtcdMemberStatus[] {
  return etcd.members.filter((m) => !m.isLearner);
}

/** Quorum size of n voting members. */
export function quorum(n: number): number {
  return Math.floor(n / 2) + 1;
}

/** True when a leader exists and a quorum of voting members is healthy. */
export function etcdHealthy(etcd: EtcdClusterStatus): boolean {
  const voting = votingMembers(etcd);
  if (voting.length === 0 || etcd.leaderId === undefined) return false;
  return voting.filter((m) => m.healthy).length >= quorum(voting.length);
}

/** Conditions of one node: Reachable, Prerequisites and one per component. */
export function nodeConditions(node: NodeStatus, expected: Readonly<Record<string, string>>): Condition[] {
  const out: Condition[] = [];
  out.push(
    node.reachable
      ? { type: "Reachable", status: "True", reason: "Answered", message: "the node answered over SSH" }
      : { type: "Reachable", status: "False", reason: "Unreachable", message: node.error ?? "no answer" },
  );
  if (!node.reachable) return out;
  out.push(
    node.prerequisites.ok
      ? { type: "Prerequisites", status: "True", reason: "Present", message: "every prerequisite is installed" }
      : {
          type: "Prerequisites",
          status: "False",
          reason: "Missing",
          message: `install: ${node.prerequisites.missing.join(", ")}`,
        },
  );
  for (const [component, want] of Object.entries(expected)) {
    const c = serviceCondition(component, node.services[component], want);
    // Running but failing its loopback health probe (a crash-looping kubelet is "running" to runit).
    out.push(
      c.status === "True" && node.health?.[component] === false
        ? {
            type: c.type,
            status: "False",
            reason: "Unhealthy",
            message: `${component} runs but fails its health check`,
          }
        : c,
    );
  }
  return out;
}

/** Condition of one component given the fingerprint it should run with. */
export function serviceCondition(component: string, s: ServiceStatus | undefined, want: string): Condition {
  const type = `${component}Ready`;
  if (!s || !s.present) return { type, status: "False", reason: "NotInstalled", message: `${component} is not set up` };
  if (!s.running) return { type, status: "False", reason: "Stopped", message: `${component} is not running` };
  if (s.fingerprint !== want) {
    return { type, status: "False", reason: "Outdated", message: `${component} runs an outdated configuration` };
  }
  return { type, status: "True", reason: "Running", message: `${component} is running (pid ${s.pid ?? "?"})` };
}

/** Conditions of the etcd cluster: Healthy and InSync. */
export function etcdConditions(etcd: EtcdClusterStatus): Condition[] {
  if (etcd.members.length === 0) {
    return [
      { type: "EtcdHealthy", status: "Unknown", reason: "NoMembers", message: etcd.error ?? "no etcd member answered" },
    ];
  }
  const voting = votingMembers(etcd);
  const healthy = voting.filter((m) => m.healthy).length;
  const sick = etcd.members.filter((m) => !m.healthy).map((m) => m.name || m.peerURLs[0] || m.id);
  const lagging = etcd.members.filter((m) => m.healthy && !m.inSync).map((m) => m.name || m.id);
  const learners = etcd.members.filter((m) => m.isLearner).map((m) => m.name || m.peerURLs[0] || m.id);
  return [
    etcdHealthy(etcd)
      ? {
          type: "EtcdHealthy",
          status: sick.length ? "False" : "True",
          reason: sick.length ? "MembersUnhealthy" : "AllHealthy",
          message:
            `${healthy}/${voting.length} voting members healthy` +
            (sick.length ? `; unhealthy: ${sick.join(", ")}` : ""),
        }
      : {
          type: "EtcdHealthy",
          status: "False",
          reason: "NoQuorum",
          message: `${healthy}/${voting.length} voting members healthy`,
        },
    lagging.length
      ? { type: "EtcdInSync", status: "False", reason: "Lagging", message: `behind the leader: ${lagging.join(", ")}` }
      : { type: "EtcdInSync", status: "True", reason: "InSync", message: "every healthy member is in sync" },
    learners.length
      ? // A learner is a membership change in progress: the next pass promotes it.
        {
          type: "EtcdVotersOnly",
          status: "False",
          reason: "LearnersPending",
          message: `learners awaiting promotion: ${learners.join(", ")}`,
        }
      : { type: "EtcdVotersOnly", status: "True", reason: "NoLearners", message: "every member is a voter" },
  ];
}
