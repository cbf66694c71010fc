/**
 * The inventory file's shape: one zod schema per section, with the defaults a platform engineer
 * would expect. Shape and defaults live here; cross-field rules (unique names, CIDR overlap,
 * quorum sizes …) live in `rules/`. The inferred types are the single source that both the stacks
 * and the reconciler read.
 */
import { z } from "zod";
import { addonBundleSchema, addonsSchema, ADDON_BUNDLES } from "./schema-addons.js";
import { duration, reconcilerSchema } from "./schema-reconciler.js";
import { runtimeSchema } from "./schema-runtime.js";
import { networkingSchema } from "./schema-networking.js";
import { artifactsSchema } from "./schema-artifacts.js";

export { addonBundleSchema, ADDON_BUNDLES } from "./schema-addons.js";
export { artifactSource, DEFAULT_RELEASE_URL, type ArtifactSource, type Artifacts } from "./schema-artifacts.js";

/** Kubernetes versions yagura renders configuration for (inclusive, minor versions). */
export const SUPPORTED_KUBERNETES = { min: [1, 24], max: [1, 37] } as const;

const labels = z.record(z.string(), z.string()).default({});

/** A Kubernetes taint as written in the inventory. */
export const taintSchema = z
  .object({
    key: z.string(),
    value: z.string().default(""),
    effect: z.enum(["NoSchedule", "PreferNoSchedule", "NoExecute"]),
  })
  .strict();

const volumeSchema = z
  .object({
    /** Size in GiB. */
    size: z.number().int().positive(),
    /** Cinder volume type; the cloud's default when absent. */
    type: z.string().optional(),
  })
  .strict();

const role = z.enum(["control-plane", "worker"]);

/** A pool of OpenStack nodes (VMs or Ironic bare metal) created by the stack. */
export const nodePoolSchema = z
  .object({
    name: z.string(),
    role,
    kind: z.enum(["vm", "baremetal"]).default("vm"),
    count: z.number().int().min(0),
    flavor: z.string(),
    image: z.string(),
    /** First fixed address of the pool's ports; node i gets firstAddress + i. */
    firstAddress: z.string(),
    availabilityZones: z.array(z.string()).default([]),
    /** Rack names for bare metal; spread nodes (and route reflectors) across them. */
    racks: z.array(z.string()).default([]),
    serverGroupPolicy: z
      .enum(["anti-affinity", "soft-anti-affinity", "affinity", "soft-affinity", "none"])
      .default("soft-anti-affinity"),
    labels,
    taints: z.array(taintSchema).default([]),
    volumes: z
      .object({
        /** Dedicated Cinder volume for /var/lib/etcd (control-plane VMs only). */
        etcd: volumeSchema.optional(),
        /** Boot from a Cinder volume instead of the hypervisor's local disk (VMs only). */
        bootFromVolume: volumeSchema.optional(),
      })
      .strict()
      .default({}),
    /** Changing it replaces every server of the pool (their ports and addresses are kept). */
    rebuildToken: z.string().default(""),
    /** Per-node rebuild tokens, keyed by node name; changing one replaces exactly that server. */
    rebuildTokens: z.record(z.string(), z.string()).default({}),
    /** Create/delete timeouts; bare metal deploys take long. */
    timeouts: z.object({ create: duration.optional(), delete: duration.optional() }).strict().default({}),
  })
  .strict();

/** A node that already exists (lab nodes, machines not created by the stack). */
export const staticNodeSchema = z
  .object({
    name: z.string(),
    address: z.string(),
    role,
    kind: z.enum(["vm", "baremetal", "lab"]).default("lab"),
    labels,
    taints: z.array(taintSchema).default([]),
    zone: z.string().optional(),
    rack: z.string().optional(),
    /** Changing it makes `yagura apply` rebuild the node (lab nodes: reimaged; its address is kept). */
    rebuildToken: z.string().default(""),
  })
  .strict();

/** Component binaries yagura installs; each needs a version and a sha256. */
export const COMPONENT_BINARIES = [
  "kube-apiserver",
  "kube-controller-manager",
  "kube-scheduler",
  "kubelet",
  "kube-proxy",
] as const;

/** The whole inventory file: every section, with defaults applied on parse. */
export const inventorySchema = z
  .object({
    cluster: z
      .object({
        name: z.string(),
        /**
         * Release to run, semver with an optional leading v: `1.33.5`, `1.34.0-rc.1`,
         * `v1.24.0-alpha.1-lab`. A pre-release belongs to its minor (rules/kubernetes.ts checks the range).
         */
        kubernetesVersion: z.string(),
        serviceCIDR: z.string().default("10.96.0.0/16"),
        podCIDR: z.string().default("10.244.0.0/16"),
        clusterDomain: z.string().default("cluster.local"),
        /** Upstream resolvers for cluster DNS. */
        dnsUpstreams: z.array(z.string()).default([]),
        kubeProxyMode: z.enum(["iptables", "ipvs", "nftables"]).default("iptables"),
        /** Open the NodePort range in the security groups. */
        nodePorts: z.boolean().default(false),
        /** Minimum Ready workers a rebuild may leave. */
        minReadyWorkers: z.number().int().min(0).default(0),
        /** Name of the taint a node carries until its networking is ready. */
        bootTaint: z.string().default("node.yagura.io/not-ready"),
        /**
         * Taint every control-plane node `node-role.kubernetes.io/control-plane:NoSchedule`, so ordinary
         * pods stay off it (the role label `node-role.kubernetes.io/control-plane: ""` is set either way).
         * Set false where workloads should run on the control plane, e.g. a cluster without workers.
         * A node's own taint with that key replaces the default.
         * @default true
         */
        controlPlaneTaint: z.boolean().default(true),
      })
      .strict(),
    openstack: z
      .object({
        /** Cloud name in clouds.yaml; credentials stay there, never in the stack. */
        cloud: z.string(),
        region: z.string(),
        externalNetwork: z.string(),
        network: z
          .object({
            /** Create a network with this CIDR … */
            cidr: z.string().optional(),
            /** … or use an existing network and subnet. */
            existingNetwork: z.string().optional(),
            existingSubnet: z.string().optional(),
            dnsNameservers: z.array(z.string()).default([]),
          })
          .strict(),
        apiEndpoint: z
          .object({
            type: z.enum(["loadbalancer", "local-proxy"]).default("local-proxy"),
            floatingIp: z.boolean().default(false),
            allowedCidrs: z.array(z.string()).default([]),
          })
          .strict()
          .default({}),
        /** Where operators (and yagura) SSH from. */
        operatorCidr: z.string(),
        /** Public key installed on every node for the operator. */
        sshPublicKey: z.string(),
        authUrl: z.string().optional(),
      })
      .strict()
      .optional(),
    keystone: z
      .object({
        project: z
          .object({
            name: z.string(),
            domain: z.string().default("default"),
            existing: z.boolean().default(false),
          })
          .strict(),
        applicationCredentials: z
          .array(z.enum(["cloud-controller-manager", "cinder-csi"]))
          .default(["cloud-controller-manager", "cinder-csi"]),
        auth: z
          .object({
            enabled: z.boolean().default(false),
            projectNamespaces: z.array(z.object({ project: z.string(), namespace: z.string() }).strict()).default([]),
            roleMappings: z.array(z.object({ role: z.string(), clusterRole: z.string() }).strict()).default([]),
          })
          .strict()
          .default({}),
      })
      .strict()
      .optional(),
    nodePools: z.array(nodePoolSchema).default([]),
    staticNodes: z.array(staticNodeSchema).default([]),
    networking: networkingSchema,
    storage: z
      .object({
        cinder: z
          .object({
            storageClasses: z
              .array(
                z
                  .object({
                    name: z.string(),
                    volumeType: z.string().optional(),
                    availabilityZone: z.string().optional(),
                    default: z.boolean().default(false),
                    allowExpansion: z.boolean().default(true),
                  })
                  .strict(),
              )
              .default([]),
          })
          .strict()
          .optional(),
        nfs: z
          .object({
            server: z.string(),
            path: z.string(),
            storageClassName: z.string().default("nfs"),
          })
          .strict()
          .optional(),
      })
      .strict()
      .default({}),
    artifacts: artifactsSchema,
    addons: addonsSchema,
    runtime: runtimeSchema,
    ssh: z
      .object({
        user: z.string().default("root"),
        port: z.number().int().min(1).max(65535).default(22),
        /** Private key used to reach nodes; relative to the inventory file. */
        privateKeyFile: z.string().optional(),
      })
      .strict()
      .default({}),
    reconciler: reconcilerSchema,
    lab: z
      .object({
        /** Bridge the lab nodes hang off; its address is the first of the node subnet. */
        bridge: z.string().default("ygbr0"),
        /** Subnet (prefix length) of the lab bridge. */
        cidr: z.string().default("10.77.0.0/24"),
      })
      .strict()
      .optional(),
  })
  .strict();

/** The inventory as written, after defaults (what `inventory show` prints). */
export type Inventory = z.infer<typeof inventorySchema>;
/** One entry of `nodePools`, after defaults. */
export type NodePool = z.infer<typeof nodePoolSchema>;
/** One entry of `staticNodes`, after defaults. */
export type StaticNode = z.infer<typeof staticNodeSchema>;
/** A taint, after defaults (value "" when absent). */
export type Taint = z.infer<typeof taintSchema>;
/** What a node runs: the control plane (with etcd) or workloads only. */
export type NodeRole = NodePool["role"];
/** How a node exists: Nova VM, Ironic bare metal, or a lab namespace. */
export type NodeKind = StaticNode["kind"];
/** One pinned add-on bundle. */
export type AddonBundle = z.infer<typeof addonBundleSchema>;
/** The name of an upstream add-on bundle. */
export type AddonName = (typeof ADDON_BUNDLES)[number];
