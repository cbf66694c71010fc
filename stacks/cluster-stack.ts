/**
 * One environment's infrastructure: provider, identity, network, security groups, ports, servers
 * and the API endpoint, plus the outputs the reconciler reads (see stacks/README.md).
 */
import { Construct } from "constructs";
import { TerraformOutput, TerraformStack } from "cdktf";
import { OpenstackProvider } from "../.gen/providers/openstack/provider/index.js";
import type { Inventory } from "../src/inventory/schema.js";
import { expandNodes } from "../src/cluster/spec.js";
import { invalidProp } from "./errors.js";
import { Identity } from "./constructs/identity.js";
import { Network } from "./constructs/network.js";
import { SecurityGroups } from "./constructs/security-groups.js";
import { Ports } from "./constructs/ports.js";
import { Compute } from "./constructs/compute.js";
import { API_PORT, ApiEndpoint } from "./constructs/api-endpoint.js";

/** Properties of {@link ClusterStack}. */
export interface ClusterStackProps {
  /** Environment name (the inventory file's base name). */
  readonly env: string;
  /** A validated inventory with an `openstack` section. */
  readonly inventory: Inventory;
  /** The public half of every managed node's issued SSH host key (stacks/host-keys.ts). */
  readonly hostKeys: ReadonlyMap<string, string>;
}

type Encapsulation = "None" | "IPIP" | "VXLAN";

/** Calico's encapsulations in use, and the pod CIDRs routed without any. */
export function podRouting(inv: Inventory): { encapsulations: Set<Encapsulation>; unencapsulated: string[] } {
  const calico = inv.networking.calico;
  const pools = calico.ipPools.length
    ? calico.ipPools.map((p) => ({ cidr: p.cidr, enc: p.encapsulation ?? calico.encapsulation }))
    : [{ cidr: inv.cluster.podCIDR, enc: calico.encapsulation }];
  return {
    encapsulations: new Set(pools.map((p) => p.enc)),
    unencapsulated: pools.filter((p) => p.enc === "None").map((p) => p.cidr),
  };
}

/** The CDKTF stack of one environment. */
export class ClusterStack extends TerraformStack {
  /**
   * cdktf's prepareStack resolves every element once more only to discover cross-stack references
   * (which add outputs and remote-state data sources). An environment's stack never references
   * another stack, so that walk (a third of synth time at 1000 nodes) is skipped; a test checks
   * the output is the same either way.
   */
  override prepareStack(): void {
    this.ensureBackendExists();
  }

  constructor(scope: Construct, id: string, props: ClusterStackProps) {
    super(scope, id);
    const inv = props.inventory;
    const os = inv.openstack;
    if (!os)
      throw invalidProp(
        "ClusterStack",
        "inventory.openstack",
        null,
        "only inventories with an openstack section have a stack",
      );
    const ref = { cluster: inv.cluster.name, env: props.env };
    const keystone = inv.keystone;
    const octaviaApi = os.apiEndpoint.type === "loadbalancer";

    // Credentials stay in clouds.yaml: the stack names the cloud entry, never a secret. With a
    // keystone section, infrastructure is built inside the cluster's project.
    new OpenstackProvider(this, "openstack", {
      cloud: os.cloud,
      region: os.region,
      authUrl: os.authUrl,
      ...(keystone ? { tenantName: keystone.project.name, projectDomainId: keystone.project.domain } : {}),
    });
    const identity = keystone
      ? new Identity(this, "identity", {
          ...ref,
          keystone,
          cloud: os.cloud,
          region: os.region,
          authUrl: os.authUrl,
          octaviaApi,
          adminProvider: new OpenstackProvider(this, "openstack-identity", {
            alias: "identity",
            cloud: os.cloud,
            region: os.region,
            authUrl: os.authUrl,
          }),
        })
      : undefined;
    const dependsOn = identity?.ready ?? [];

    const network = new Network(this, "network", {
      ...ref,
      externalNetwork: os.externalNetwork,
      cidr: os.network.cidr,
      existingNetwork: os.network.existingNetwork,
      existingSubnet: os.network.existingSubnet,
      dnsNameservers: os.network.dnsNameservers,
      dependsOn,
    });
    const routing = podRouting(inv);
    const groups = new SecurityGroups(this, "security", {
      ...ref,
      apiAllowedCidrs: os.apiEndpoint.allowedCidrs,
      nodeCidr: network.cidr,
      operatorCidr: os.operatorCidr,
      encapsulations: routing.encapsulations,
      unencapsulatedPodCidrs: routing.unencapsulated,
      nodePorts: inv.cluster.nodePorts,
      dependsOn,
    });
    const nodes = expandNodes(inv);
    const ports = new Ports(this, "ports", {
      ...ref,
      nodes,
      networkId: network.networkId,
      subnetId: network.subnetId,
      groupIds: groups.groupIds,
      allowedAddressPairs: routing.unencapsulated,
    });
    const compute = new Compute(this, "compute", {
      ...ref,
      pools: inv.nodePools,
      nodes,
      ports: ports.byNode,
      sshPublicKey: os.sshPublicKey,
      hostKeys: props.hostKeys,
      dependsOn,
    });
    const api = new ApiEndpoint(this, "api", {
      ...ref,
      type: os.apiEndpoint.type,
      floatingIp: os.apiEndpoint.floatingIp,
      allowedCidrs: os.apiEndpoint.allowedCidrs,
      subnetId: network.subnetId,
      nodeCidr: network.cidr,
      floatingIpPool: network.externalNetworkName,
      controlPlane: nodes.filter((n) => n.managed && n.role === "control-plane"),
    });

    new TerraformOutput(this, "nodes", {
      description:
        "Every server the stack created: name, pool, role, kind, serverId, address, rebuildToken, image, flavor",
      value: compute.servers.map(({ node, server }) => ({
        name: node.name,
        pool: node.pool,
        role: node.role,
        kind: node.kind,
        serverId: server.id,
        address: node.address,
        // What the server is built with: `yagura plan` compares it with the inventory.
        rebuildToken: node.rebuildToken,
        image: inv.nodePools.find((p) => p.name === node.pool)?.image ?? "",
        flavor: inv.nodePools.find((p) => p.name === node.pool)?.flavor ?? "",
      })),
    });
    new TerraformOutput(this, "api_endpoint", {
      description: "Kubernetes API endpoint: type, address, port",
      value: { type: api.type, address: api.address, port: API_PORT },
    });
  }
}
