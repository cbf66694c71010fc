/** Node rules: control-plane size, volumes by kind and role, labels, taints, rebuild tokens. */
import type { Finding, Rule } from "./index.js";
import type { Taint } from "../schema.js";
import { labelKeyProblem, labelValueProblem } from "./syntax.js";
import { controlPlaneCount, MAX_POOL_NODES } from "./model.js";

const QUORUM_SIZES = [1, 3, 5, 7];

const controlPlaneSize: Rule = (inv) => {
  const n = controlPlaneCount(inv);
  if (QUORUM_SIZES.includes(n)) return [];
  // Point at the pool most likely to be edited: the first non-empty control-plane pool.
  const nonEmpty = inv.nodePools.findIndex((p) => p.role === "control-plane" && p.count > 0);
  const pool = nonEmpty >= 0 ? nonEmpty : inv.nodePools.findIndex((p) => p.role === "control-plane");
  const stat = inv.staticNodes.findIndex((s) => s.role === "control-plane");
  const path: (string | number)[] =
    pool >= 0
      ? ["nodePools", pool, "count"]
      : stat >= 0
        ? ["staticNodes", stat, "role"]
        : inv.nodePools.length > 0
          ? ["nodePools"]
          : inv.staticNodes.length > 0
            ? ["staticNodes"]
            : ["cluster"];
  const why =
    n === 0
      ? "there is none, and etcd and the API server run on the control plane"
      : n % 2 === 0
        ? `etcd needs a majority to write, so ${n} members tolerate no more failures than ${n - 1} and an even count only adds a machine that can fail`
        : "more than 7 etcd members slow every write without tolerating a useful number of extra failures";
  const hint =
    n === 0 ? "add a pool or static node with role: control-plane" : n > 7 ? "use 7 or 5" : `use ${n - 1} or ${n + 1}`;
  return [
    {
      path,
      message: `the control plane has ${n} node${n === 1 ? "" : "s"} (pools plus static nodes); it must be 1, 3, 5 or 7: ${why}; ${hint}`,
    },
  ];
};

const poolSize: Rule = (inv) =>
  inv.nodePools.flatMap((p, i) =>
    p.count > MAX_POOL_NODES
      ? [
          {
            path: ["nodePools", i, "count"],
            message: `count ${p.count} is more than the ${MAX_POOL_NODES} nodes a pool may hold: split the pool or fix the number`,
          },
        ]
      : [],
  );

const bareMetalVolumes: Rule = (inv) =>
  inv.nodePools.flatMap((p, i) => {
    if (p.kind !== "baremetal") return [];
    return (["etcd", "bootFromVolume"] as const)
      .filter((v) => p.volumes[v] !== undefined)
      .map((v) => ({
        path: ["nodePools", i, "volumes", v],
        message: `pool ${JSON.stringify(p.name)} is baremetal but asks for volumes.${v}: Nova cannot attach Cinder volumes to an Ironic server; put ${v === "etcd" ? "etcd" : "the root file system"} on the machine's local disk (remove volumes.${v}) or use a VM pool (kind: vm)`,
      }));
  });

const etcdVolumeOnControlPlane: Rule = (inv) =>
  inv.nodePools.flatMap((p, i) =>
    p.role !== "control-plane" && p.volumes.etcd !== undefined
      ? [
          {
            path: ["nodePools", i, "volumes", "etcd"],
            message: `pool ${JSON.stringify(p.name)} is a ${p.role} pool but has volumes.etcd: etcd runs only on control-plane nodes; remove volumes.etcd or set role: control-plane`,
          },
        ]
      : [],
  );

function labelFindings(base: (string | number)[], labels: Record<string, string>): Finding[] {
  const out: Finding[] = [];
  for (const [k, v] of Object.entries(labels)) {
    const kp = labelKeyProblem(k);
    if (kp)
      out.push({
        path: [...base, k],
        message: `label key ${JSON.stringify(k)} is not a valid Kubernetes label key: ${kp}`,
      });
    const vp = labelValueProblem(v);
    if (vp)
      out.push({
        path: [...base, k],
        message: `label value ${JSON.stringify(v)} of ${JSON.stringify(k)} is not a valid Kubernetes label value: ${vp}`,
      });
  }
  return out;
}

function taintFindings(base: (string | number)[], taints: readonly Taint[]): Finding[] {
  const out: Finding[] = [];
  const seen = new Set<string>();
  taints.forEach((t, i) => {
    const kp = labelKeyProblem(t.key);
    if (kp)
      out.push({
        path: [...base, i, "key"],
        message: `taint key ${JSON.stringify(t.key)} is not valid (taint keys follow the label key syntax): ${kp}`,
      });
    const vp = labelValueProblem(t.value);
    if (vp)
      out.push({
        path: [...base, i, "value"],
        message: `taint value ${JSON.stringify(t.value)} is not valid (taint values follow the label value syntax): ${vp}`,
      });
    const id = `${t.key}:${t.effect}`;
    if (seen.has(id))
      out.push({
        path: [...base, i],
        message: `taint ${t.key}:${t.effect} appears twice: Kubernetes refuses a node with two taints of the same key and effect; remove one`,
      });
    seen.add(id);
  });
  return out;
}

const labelsAndTaints: Rule = (inv) => [
  ...inv.nodePools.flatMap((p, i) => [
    ...labelFindings(["nodePools", i, "labels"], p.labels),
    ...taintFindings(["nodePools", i, "taints"], p.taints),
  ]),
  ...inv.staticNodes.flatMap((s, i) => [
    ...labelFindings(["staticNodes", i, "labels"], s.labels),
    ...taintFindings(["staticNodes", i, "taints"], s.taints),
  ]),
];

const rebuildTokenKeys: Rule = (inv) =>
  inv.nodePools.flatMap((p, i) =>
    Object.keys(p.rebuildTokens).flatMap((name) => {
      const m = new RegExp(`^${p.name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}-([1-9]\\d*)$`).exec(name);
      if (m && Number(m[1]) <= p.count) return [];
      const range =
        p.count === 0
          ? "it has no nodes"
          : p.count === 1
            ? `its only node is ${p.name}-1`
            : p.count === 2
              ? `its nodes are ${p.name}-1 and ${p.name}-2`
              : `its nodes are ${p.name}-1 … ${p.name}-${p.count}`;
      return [
        {
          path: ["nodePools", i, "rebuildTokens", name],
          message: `rebuildTokens names ${JSON.stringify(name)}, which is not a node of pool ${JSON.stringify(p.name)} (${range}): use one of those names or remove the entry`,
        },
      ];
    }),
  );

const poolsNeedOpenStack: Rule = (inv) =>
  inv.nodePools.length > 0 && !inv.openstack
    ? [
        {
          path: ["nodePools"],
          message:
            "nodePools are created by the OpenStack stack, but there is no openstack section: add one (cloud, region, network …) or describe existing machines under staticNodes",
        },
      ]
    : [];

const labNodesNeedLab: Rule = (inv) =>
  inv.lab
    ? []
    : inv.staticNodes.flatMap((s, i) =>
        s.kind === "lab"
          ? [
              {
                path: ["staticNodes", i],
                message: `static node ${JSON.stringify(s.name)} has kind lab (the default), which only exists in the local lab: set kind: vm or kind: baremetal for an existing machine, or add a lab section`,
              },
            ]
          : [],
      );

const minReadyWorkers: Rule = (inv) => {
  let workers = inv.staticNodes.filter((s) => s.role === "worker").length;
  for (const p of inv.nodePools) if (p.role === "worker") workers += p.count;
  const want = inv.cluster.minReadyWorkers;
  if (want <= workers) return [];
  return [
    {
      path: ["cluster", "minReadyWorkers"],
      message: `minReadyWorkers is ${want} but the inventory has only ${workers} worker${workers === 1 ? "" : "s"}, so the cluster can never have that many Ready workers and every rebuild would wait forever: ${workers === 0 ? "set it to 0" : `lower it to at most ${workers - 1} (one worker can then be rebuilt at a time)`}, or add workers`,
    },
  ];
};

/** Rules for nodes and pools. */
export const nodeRules: readonly Rule[] = [
  controlPlaneSize,
  poolSize,
  bareMetalVolumes,
  etcdVolumeOnControlPlane,
  labelsAndTaints,
  rebuildTokenKeys,
  poolsNeedOpenStack,
  labNodesNeedLab,
  minReadyWorkers,
];
