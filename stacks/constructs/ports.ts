/**
 * One Neutron port per managed node, holding the node's fixed address and security group. Ports
 * are separate from servers (a server attaches by port id), so replacing a server keeps its port,
 * its address and everything that points at that address.
 */
import { Construct } from "constructs";
import { NetworkingPortV2 } from "../../.gen/providers/openstack/networking-port-v2/index.js";
import type { NodeSpec } from "../../src/cluster/spec.js";
import { parseIPv4 } from "../../src/cluster/net.js";
import { type ClusterRef, idOf, requireCidr, tagsFor } from "./common.js";
import type { GroupName } from "./security-rules.js";
import { invalidProp } from "../errors.js";

/** Properties of {@link Ports}. */
export interface PortsProps extends ClusterRef {
  /** Nodes to create ports for; only managed nodes are used. */
  readonly nodes: readonly NodeSpec[];
  readonly networkId: string;
  readonly subnetId: string;
  /** Security group id per role. */
  readonly groupIds: Readonly<Record<GroupName, string>>;
  /**
   * CIDRs the node may send from besides its own address: the pod CIDRs Calico routes without
   * encapsulation (Neutron's anti-spoofing drops them otherwise). @default []
   */
  readonly allowedAddressPairs?: readonly string[];
}

/** Neutron ports of every managed node, by node name. */
export class Ports extends Construct {
  /** Port per node name. */
  readonly byNode = new Map<string, NetworkingPortV2>();

  constructor(scope: Construct, id: string, props: PortsProps) {
    super(scope, id);
    const pairs = props.allowedAddressPairs ?? [];
    pairs.forEach((c, i) => requireCidr("Ports", `allowedAddressPairs[${i}]`, c));
    for (const node of props.nodes) {
      if (!node.managed) continue;
      if (parseIPv4(node.address) === undefined)
        throw invalidProp("Ports", `nodes[${node.name}].address`, node.address, "expected an IPv4 address");
      if (this.byNode.has(node.name)) throw invalidProp("Ports", "nodes", node.name, "node names must be unique");
      const port = new NetworkingPortV2(this, idOf(node.name), {
        name: `${props.cluster}-${node.name}`,
        networkId: props.networkId,
        adminStateUp: true,
        fixedIp: [{ subnetId: props.subnetId, ipAddress: node.address }],
        securityGroupIds: [props.groupIds[node.role]],
        allowedAddressPairs: pairs.length ? pairs.map((ipAddress) => ({ ipAddress })) : undefined,
        // Ironic binds a pre-created port to the machine's NIC only when it asks for a bare-metal vNIC.
        binding: node.kind === "baremetal" ? { vnicType: "baremetal" } : undefined,
        tags: tagsFor(props, { pool: node.pool, role: node.role }),
      });
      this.byNode.set(node.name, port);
    }
  }
}
