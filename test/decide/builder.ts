/** A chained builder of ClusterStatus for decide tables (CKE's strategy_test.go style). */
import type { ClusterSpec, NodeSpec } from "../../src/cluster/spec.js";
import type { ClusterStatus, EtcdMemberStatus, NodeStatus } from "../../src/cluster/status.js";
import type { Inventory } from "../../src/inventory/schema.js";
import { buildDesired, type Desired, type EtcdMemberPems } from "../../src/ops/etcd/desired.js";
import { clientURL, ETCD, peerURL } from "../../src/ops/etcd/layout.js";

/** A spec with `cp` control-plane and `workers` worker lab nodes at 10.79.0.11…. */
export function testSpec(cp: number, workers = 0, extraCp: string[] = []): ClusterSpec {
  const nodes: NodeSpec[] = [];
  const add = (name: string, role: NodeSpec["role"], i: number) =>
    nodes.push({
      name,
      pool: "static",
      role,
      kind: "lab",
      address: `10.79.0.${11 + i}`,
      labels: {},
      taints: [],
      rebuildToken: "",
      managed: false,
      index: 0,
    });
  for (let i = 0; i < cp; i++) add(`cp${i + 1}`, "control-plane", i);
  extraCp.forEach((n, i) => add(n, "control-plane", cp + i));
  for (let i = 0; i < workers; i++) add(`w${i + 1}`, "worker", 100 + i);
  return { env: "t", inventory: {} as Inventory, nodes };
}

const pems = (name: string): EtcdMemberPems => ({
  peerCA: "peer-ca",
  clientCA: "client-ca",
  peerCert: `peer-${name}`,
  peerKey: `peer-key-${name}`,
  serverCert: `server-${name}`,
  serverKey: `server-key-${name}`,
});

/** Desired state with fake PEMs. */
export function testDesired(spec: ClusterSpec): Desired {
  return buildDesired(spec, Object.fromEntries(spec.nodes.map((n) => [n.name, pems(n.name)])));
}

type MutNode = { -readonly [K in keyof NodeStatus]: NodeStatus[K] } & {
  files: Record<string, string>;
  services: Record<string, { present: boolean; running: boolean; fingerprint?: string; pid?: number }>;
};

/** Starts from nodes that answered and have nothing of yagura's yet. */
export function statusBuilder(spec: ClusterSpec, desired: Desired = testDesired(spec)) {
  const nodes: Record<string, MutNode> = {};
  for (const n of spec.nodes) {
    nodes[n.name] = {
      name: n.name,
      reachable: true,
      prerequisites: { ok: true, missing: [] },
      services: {},
      files: {},
      etcdData: { present: false, hasMember: false },
    };
  }
  let members: EtcdMemberStatus[] = [];
  let leaderId: string | undefined;
  let backup: ClusterStatus["backup"];
  const byName = (name: string) => spec.nodes.find((n) => n.name === name)!;
  const cpNames = spec.nodes.filter((n) => n.role === "control-plane").map((n) => n.name);
  const b = {
    unreachable(name: string, why = "timeout") {
      nodes[name] = { ...nodes[name]!, reachable: false, error: why };
      return b;
    },
    missing(name: string, what: string) {
      nodes[name]!.prerequisites = { ok: false, missing: [what] };
      return b;
    },
    /** Certificates and service files as desired on these nodes (default: every control-plane node). */
    provisioned(names: string[] = cpNames) {
      for (const name of names) {
        const d = desired.etcd[name]!;
        for (const f of [...d.certs, ...d.files]) nodes[name]!.files[f.path] = f.sha256;
      }
      return b;
    },
    file(name: string, path: string, sha: string | undefined) {
      if (sha === undefined) delete nodes[name]!.files[path];
      else nodes[name]!.files[path] = sha;
      return b;
    },
    /** etcd running with data and the current fingerprint; healthy in-sync voting members. */
    etcd(names: string[] = cpNames) {
      for (const name of names) {
        nodes[name]!.services[ETCD.component] = {
          present: true,
          running: true,
          fingerprint: desired.etcd[name]?.fingerprint ?? "x",
          pid: 100,
        };
        nodes[name]!.etcdData = { present: true, hasMember: true };
        nodes[name]!.files[ETCD.envFile] = desired.etcd[name]?.bootstrapNewSha256 ?? "y";
        b.member(name);
      }
      leaderId = members[0]?.id;
      return b;
    },
    member(name: string, over: Partial<EtcdMemberStatus> = {}) {
      const n = byName(name);
      members = members.filter((m) => !m.peerURLs.includes(peerURL(n)));
      members.push({
        id: `id-${name}`,
        name,
        peerURLs: [peerURL(n)],
        clientURLs: [clientURL(n)],
        isLearner: false,
        healthy: true,
        inSync: true,
        ...over,
      });
      return b;
    },
    /** A member with an address outside the spec. */
    foreignMember(name: string, address: string, over: Partial<EtcdMemberStatus> = {}) {
      members.push({
        id: `id-${name}`,
        name,
        peerURLs: [`https://${address}:2380`],
        clientURLs: [`https://${address}:2379`],
        isLearner: false,
        healthy: true,
        inSync: true,
        ...over,
      });
      return b;
    },
    stopped(name: string) {
      nodes[name]!.services[ETCD.component] = {
        ...nodes[name]!.services[ETCD.component]!,
        running: false,
        pid: undefined,
      };
      const m = members.find((x) => x.name === name);
      if (m) b.member(name, { ...m, healthy: false, inSync: false });
      return b;
    },
    wiped(name: string) {
      nodes[name]!.etcdData = { present: true, hasMember: false };
      return b.stopped(name);
    },
    fingerprint(name: string, fp: string | undefined) {
      nodes[name]!.services[ETCD.component] = { ...nodes[name]!.services[ETCD.component]!, fingerprint: fp };
      return b;
    },
    data(name: string, hasMember: boolean) {
      nodes[name]!.etcdData = { present: true, hasMember };
      return b;
    },
    noLeader() {
      leaderId = undefined;
      return b;
    },
    /** Observe looked at the snapshot store: the newest was taken at `lastTakenAt` (none when absent). */
    backup(lastTakenAt?: string, error?: string) {
      backup = { ...(lastTakenAt ? { lastTakenAt } : {}), ...(error ? { error } : {}) };
      return b;
    },
    noEtcdAnswer() {
      members = [];
      leaderId = undefined;
      return b;
    },
    build(): ClusterStatus {
      return {
        nodes: structuredClone(nodes),
        etcd: { members: structuredClone(members), ...(leaderId ? { leaderId } : {}) },
        ...(backup ? { backup: structuredClone(backup) } : {}),
      };
    },
  };
  return b;
}
