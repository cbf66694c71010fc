/**
 * Servers: per pool a server group (unless its policy is "none"), per node a Nova server on its
 * port, in its availability zone, with cloud-init user data. VMs may boot from a Cinder volume and,
 * on the control plane, get a Cinder volume for etcd; bare metal (Ironic flavors) gets a config
 * drive, no Cinder, and long timeouts. A `terraform_data` per node holds what forces a rebuild
 * (rebuild token, image, flavor); the server is replaced when it changes, the port stays.
 */
import { Construct } from "constructs";
import { Fn, TerraformVariable, Token, type ITerraformDependable } from "cdktf";
import { ComputeInstanceV2 } from "../../.gen/providers/openstack/compute-instance-v2/index.js";
import { ComputeServergroupV2 } from "../../.gen/providers/openstack/compute-servergroup-v2/index.js";
import { ComputeVolumeAttachV2 } from "../../.gen/providers/openstack/compute-volume-attach-v2/index.js";
import { BlockstorageVolumeV3 } from "../../.gen/providers/openstack/blockstorage-volume-v3/index.js";
import { DataOpenstackImagesImageV2 } from "../../.gen/providers/openstack/data-openstack-images-image-v2/index.js";
import type { NetworkingPortV2 } from "../../.gen/providers/openstack/networking-port-v2/index.js";
import type { NodePool } from "../../src/inventory/schema.js";
import type { NodeSpec } from "../../src/cluster/spec.js";
import { HOST_KEYS_TFVARS, HOST_KEYS_VARIABLE } from "../host-keys.js";
import { cloudInitView, renderCloudInit } from "../cloud-init.js";
import { RebuildTrigger } from "./rebuild-trigger.js";
import { type ClusterRef, idOf, metadataFor, requireNonEmpty, tagsFor } from "./common.js";
import { invalidProp } from "../errors.js";

/** Ironic deploys (and cleaning on delete) take far longer than a VM boot. */
export const BAREMETAL_TIMEOUTS = { create: "60m", delete: "30m" } as const;

// Terraform timeouts are Go durations: no "d" unit.
const GO_DURATION = /^\d+(ms|s|m|h)$/;

/** Properties of {@link Compute}. */
export interface ComputeProps extends ClusterRef {
  /** The inventory's node pools. */
  readonly pools: readonly NodePool[];
  /** Expanded nodes; only managed (pool) nodes get servers. */
  readonly nodes: readonly NodeSpec[];
  /** Port per node name (see Ports). */
  readonly ports: ReadonlyMap<string, NetworkingPortV2>;
  /** Installed for the operator on every node. */
  readonly sshPublicKey: string;
  /** The public half of every managed node's yagura-issued SSH host key (see stacks/host-keys.ts). */
  readonly hostKeys: ReadonlyMap<string, string>;
  /** What resources that do not otherwise depend on the project must wait for. @default [] */
  readonly dependsOn?: ITerraformDependable[];
}

/** A created server and what the outputs report about it. */
export interface ServerRef {
  readonly node: NodeSpec;
  readonly server: ComputeInstanceV2;
}

/** Server groups, servers, etcd volumes and rebuild triggers of every pool. */
export class Compute extends Construct {
  /** Servers in node order. */
  readonly servers: ServerRef[] = [];

  constructor(scope: Construct, id: string, props: ComputeProps) {
    super(scope, id);
    requireNonEmpty("Compute", "sshPublicKey", props.sshPublicKey);
    const dependsOn = props.dependsOn?.length ? props.dependsOn : undefined;
    const images = new Map<string, DataOpenstackImagesImageV2>();
    const imageId = (name: string) => {
      let img = images.get(name);
      if (!img) {
        img = new DataOpenstackImagesImageV2(this, `image-${idOf(name)}`, { name, mostRecent: true, dependsOn });
        images.set(name, img);
      }
      return img.id;
    };

    const hostKeys = new TerraformVariable(this, HOST_KEYS_VARIABLE, {
      type: "map(string)",
      sensitive: true,
      description: `Private SSH host key per node; synth writes it to ${HOST_KEYS_TFVARS} beside the stack`,
    });
    hostKeys.overrideLogicalId(HOST_KEYS_VARIABLE);
    const byPool = new Map<string, NodeSpec[]>();
    for (const n of props.nodes) if (n.managed) (byPool.get(n.pool) ?? byPool.set(n.pool, []).get(n.pool)!).push(n);

    props.pools.forEach((pool, p) => {
      const at = `pools[${p}]`;
      requireNonEmpty("Compute", `${at}.flavor`, pool.flavor);
      requireNonEmpty("Compute", `${at}.image`, pool.image);
      const metal = pool.kind === "baremetal";
      if (metal && pool.volumes.etcd)
        throw invalidProp(
          "Compute",
          `${at}.volumes.etcd`,
          pool.volumes.etcd,
          "bare-metal nodes keep etcd on local disk; remove it",
        );
      if (metal && pool.volumes.bootFromVolume)
        throw invalidProp(
          "Compute",
          `${at}.volumes.bootFromVolume`,
          pool.volumes.bootFromVolume,
          "bare-metal nodes boot from local disk; remove it",
        );
      if (pool.volumes.etcd && pool.role !== "control-plane")
        throw invalidProp(
          "Compute",
          `${at}.volumes.etcd`,
          pool.volumes.etcd,
          "only control-plane pools run etcd; remove it",
        );
      for (const k of ["create", "delete"] as const) {
        const v = pool.timeouts[k];
        if (v !== undefined && !GO_DURATION.test(v))
          throw invalidProp("Compute", `${at}.timeouts.${k}`, v, "use s, m or h (Terraform has no day unit), e.g. 90m");
      }
      const placement = { pool: pool.name, role: pool.role };
      const group =
        pool.serverGroupPolicy === "none"
          ? undefined
          : new ComputeServergroupV2(this, `${idOf(pool.name)}-group`, {
              name: `${props.cluster}-${pool.name}`,
              policies: [pool.serverGroupPolicy],
              dependsOn,
            });
      const timeouts = metal
        ? {
            create: pool.timeouts.create ?? BAREMETAL_TIMEOUTS.create,
            delete: pool.timeouts.delete ?? BAREMETAL_TIMEOUTS.delete,
          }
        : pool.timeouts.create || pool.timeouts.delete
          ? { create: pool.timeouts.create, delete: pool.timeouts.delete }
          : undefined;
      const bfv = pool.volumes.bootFromVolume;
      const bootDevice = bfv
        ? [
            {
              sourceType: "image",
              uuid: imageId(pool.image),
              destinationType: "volume",
              volumeSize: bfv.size,
              volumeType: bfv.type,
              bootIndex: 0,
              deleteOnTermination: true,
            },
          ]
        : undefined;

      for (const node of byPool.get(pool.name) ?? []) {
        const nid = idOf(node.name);
        const port = props.ports.get(node.name);
        if (!port)
          throw invalidProp("Compute", "ports", node.name, "no port for this node; build Ports from the same nodes");
        // Everything that should replace this server and nothing else: the port is not in here.
        const trigger = new RebuildTrigger(this, `${nid}-rebuild`, {
          triggersReplace: { rebuildToken: node.rebuildToken, image: pool.image, flavor: pool.flavor },
        });
        const etcd =
          pool.volumes.etcd && !metal
            ? new BlockstorageVolumeV3(this, `${nid}-etcd`, {
                name: `${props.cluster}-${node.name}-etcd`,
                size: pool.volumes.etcd.size,
                volumeType: pool.volumes.etcd.type,
                availabilityZone: node.zone,
                metadata: metadataFor(props, placement),
                dependsOn,
              })
            : undefined;
        // virtio names a volume by the first 20 characters of its id, before it is attached.
        const etcdDevice = etcd ? `/dev/disk/by-id/virtio-${Fn.substr(etcd.id, 0, 20)}` : undefined;
        const publicKey = props.hostKeys.get(node.name);
        if (!publicKey)
          throw invalidProp("Compute", "hostKeys", node.name, "no issued host key for this node; see stackHostKeys");
        const hostKey = {
          publicKey,
          privateKeyScalar: Token.asString(Fn.jsonencode(Fn.lookup(hostKeys.value, node.name))),
        };
        const view = cloudInitView(
          node,
          { cluster: props.cluster, env: props.env, sshPublicKey: props.sshPublicKey, hostKey },
          etcdDevice,
        );
        const server = new ComputeInstanceV2(this, nid, {
          name: node.name,
          flavorName: pool.flavor,
          imageName: bfv ? undefined : pool.image,
          blockDevice: bootDevice,
          availabilityZone: node.zone,
          configDrive: metal ? true : undefined,
          userData: renderCloudInit(node.role, view),
          network: [{ port: port.id }],
          schedulerHints: group ? [{ group: group.id }] : undefined,
          metadata: { ...metadataFor(props, placement), kind: node.kind, ...(node.rack ? { rack: node.rack } : {}) },
          tags: tagsFor(props, placement),
          timeouts,
          // A bare reference: cdktf renders a construct here as "${…}", which Terraform's JSON syntax
          // refuses in replace_triggered_by ("Invalid character"), as it does in depends_on.
          // user_data is ignored after creation: Nova would replace the server for any template change.
          // Replacement is the trigger's job; a replaced server is created with the current user data.
          lifecycle: {
            ignoreChanges: ["user_data"],
            replaceTriggeredBy: [`${RebuildTrigger.tfResourceType}.${trigger.friendlyUniqueId}`],
          },
        });
        if (etcd) new ComputeVolumeAttachV2(this, `${nid}-etcd-attach`, { instanceId: server.id, volumeId: etcd.id });
        this.servers.push({ node, server });
      }
    });
  }
}
