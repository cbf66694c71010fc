/**
 * Storage: Cinder storage classes from the inventory (volume type, zone, WaitForFirstConsumer,
 * expansion), the Cinder node plugin held to VM nodes (Ironic servers cannot attach Cinder volumes
 * through Nova), and the NFS storage class for bare metal.
 */
import type { ClusterSpec } from "../../cluster/spec.js";
import type { KubeObject } from "../../infra/kube-types.js";

/** The Cinder CSI driver name, as registered in CSINode objects. */
export const CINDER_DRIVER = "cinder.csi.openstack.org";
/** The NFS CSI driver name. */
export const NFS_DRIVER = "nfs.csi.k8s.io";
/** The Cinder node plugin DaemonSet of the upstream manifests. */
export const CINDER_NODE_PLUGIN = { namespace: "kube-system", name: "csi-cinder-nodeplugin" } as const;

const DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class";

/** Nodes that can attach Cinder volumes: Nova VMs. */
export function cinderNodes(spec: ClusterSpec): string[] {
  return spec.nodes.filter((n) => n.kind === "vm").map((n) => n.name);
}

/** One StorageClass per `storage.cinder.storageClasses` entry. */
export function cinderStorageClasses(spec: ClusterSpec): KubeObject[] {
  return (spec.inventory.storage.cinder?.storageClasses ?? []).map((c) => ({
    apiVersion: "storage.k8s.io/v1",
    kind: "StorageClass",
    metadata: { name: c.name, ...(c.default ? { annotations: { [DEFAULT_CLASS]: "true" } } : {}) },
    provisioner: CINDER_DRIVER,
    parameters: {
      ...(c.volumeType ? { type: c.volumeType } : {}),
      ...(c.availabilityZone ? { availability: c.availabilityZone } : {}),
    },
    reclaimPolicy: "Delete",
    // The volume is created in the zone of the node the pod lands on, not before scheduling.
    volumeBindingMode: "WaitForFirstConsumer",
    allowVolumeExpansion: c.allowExpansion,
  }));
}

/** The StorageClass of `storage.nfs`, or none. */
export function nfsStorageClass(spec: ClusterSpec): KubeObject[] {
  const n = spec.inventory.storage.nfs;
  if (!n) return [];
  return [
    {
      apiVersion: "storage.k8s.io/v1",
      kind: "StorageClass",
      metadata: { name: n.storageClassName },
      provisioner: NFS_DRIVER,
      parameters: { server: n.server, share: n.path },
      reclaimPolicy: "Delete",
      volumeBindingMode: "Immediate",
      allowVolumeExpansion: true,
      mountOptions: ["nfsvers=4.1"],
    },
  ];
}

/**
 * The bundle's Cinder node plugin restricted to VM nodes by name (no label has to exist first);
 * dropped when the cluster has no VM. Other objects pass through unchanged.
 */
export function placeCinderNodePlugin(spec: ClusterSpec, objs: readonly KubeObject[]): KubeObject[] {
  const vms = cinderNodes(spec);
  const isPlugin = (o: KubeObject) =>
    o.kind === "DaemonSet" &&
    o.metadata.name === CINDER_NODE_PLUGIN.name &&
    o.metadata.namespace === CINDER_NODE_PLUGIN.namespace;
  return objs.flatMap((o) => {
    if (!isPlugin(o)) return [o];
    if (vms.length === 0) return [];
    const spec0 = (o["spec"] ?? {}) as Record<string, unknown>;
    const template = (spec0["template"] ?? {}) as Record<string, unknown>;
    const podSpec = (template["spec"] ?? {}) as Record<string, unknown>;
    const affinity = {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchFields: [{ key: "metadata.name", operator: "In", values: vms }] }],
        },
      },
    };
    return [{ ...o, spec: { ...spec0, template: { ...template, spec: { ...podSpec, affinity } } } }];
  });
}
