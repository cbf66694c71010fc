/**
 * The node network: a network, subnet and router to the external network, or an existing network
 * and subnet looked up by id or name. Everything else attaches to what this exposes.
 */
import { Construct } from "constructs";
import { Fn, type ITerraformDependable } from "cdktf";
import { NetworkingNetworkV2 } from "../../.gen/providers/openstack/networking-network-v2/index.js";
import { NetworkingSubnetV2 } from "../../.gen/providers/openstack/networking-subnet-v2/index.js";
import { NetworkingRouterV2 } from "../../.gen/providers/openstack/networking-router-v2/index.js";
import { NetworkingRouterInterfaceV2 } from "../../.gen/providers/openstack/networking-router-interface-v2/index.js";
import { DataOpenstackNetworkingNetworkV2 } from "../../.gen/providers/openstack/data-openstack-networking-network-v2/index.js";
import { DataOpenstackNetworkingSubnetV2 } from "../../.gen/providers/openstack/data-openstack-networking-subnet-v2/index.js";
import { type ClusterRef, requireCidr, requireNonEmpty, tagsFor } from "./common.js";
import { invalidProp } from "../errors.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Properties of {@link Network}. */
export interface NetworkProps extends ClusterRef {
  /** Name or id of the external network the router uplinks to. */
  readonly externalNetwork: string;
  /** CIDR of a network to create; exclusive with `existingNetwork`. @default undefined */
  readonly cidr?: string;
  /** Id or name of an existing network. @default undefined */
  readonly existingNetwork?: string;
  /** Id or name of an existing subnet of that network; the network's first subnet when unset. @default undefined */
  readonly existingSubnet?: string;
  /** Resolvers handed out by DHCP on a created subnet. @default [] */
  readonly dnsNameservers?: readonly string[];
  /** What the network's first resources must wait for (a project created by this stack). @default [] */
  readonly dependsOn?: ITerraformDependable[];
}

/** The node network: created, or looked up. */
export class Network extends Construct {
  readonly networkId: string;
  readonly subnetId: string;
  /** The subnet's CIDR: a literal when created, a reference when looked up. */
  readonly cidr: string;
  /** Id of the external network (for floating IPs). */
  readonly externalNetworkId: string;
  /** Name of the external network (floating IP pool). */
  readonly externalNetworkName: string;

  constructor(scope: Construct, id: string, props: NetworkProps) {
    super(scope, id);
    const dependsOn = props.dependsOn?.length ? props.dependsOn : undefined;
    requireNonEmpty("Network", "externalNetwork", props.externalNetwork);
    if ((props.cidr === undefined) === (props.existingNetwork === undefined)) {
      throw invalidProp(
        "Network",
        "cidr",
        props.cidr ?? null,
        "set exactly one of cidr (create a network) or existingNetwork (use one)",
      );
    }
    const byIdOrName = (v: string) => (UUID.test(v) ? { networkId: v } : { name: v });
    const external = new DataOpenstackNetworkingNetworkV2(this, "external", {
      ...byIdOrName(props.externalNetwork),
      external: true,
      dependsOn,
    });
    this.externalNetworkId = external.id;
    this.externalNetworkName = external.name;

    if (props.cidr !== undefined) {
      requireCidr("Network", "cidr", props.cidr);
      const tags = tagsFor(props);
      const net = new NetworkingNetworkV2(this, "network", {
        name: `${props.cluster}-nodes`,
        adminStateUp: true,
        tags,
        dependsOn,
      });
      const subnet = new NetworkingSubnetV2(this, "subnet", {
        name: `${props.cluster}-nodes`,
        networkId: net.id,
        cidr: props.cidr,
        ipVersion: 4,
        dnsNameservers: [...(props.dnsNameservers ?? [])],
        tags,
      });
      const router = new NetworkingRouterV2(this, "router", {
        name: `${props.cluster}-router`,
        externalNetworkId: external.id,
        tags,
      });
      new NetworkingRouterInterfaceV2(this, "router-interface", { routerId: router.id, subnetId: subnet.id });
      this.networkId = net.id;
      this.subnetId = subnet.id;
      this.cidr = props.cidr;
    } else {
      const net = new DataOpenstackNetworkingNetworkV2(this, "network", {
        ...byIdOrName(props.existingNetwork!),
        dependsOn,
      });
      const subnet =
        props.existingSubnet === undefined
          ? new DataOpenstackNetworkingSubnetV2(this, "subnet", { subnetId: Fn.element(net.subnets, 0) })
          : new DataOpenstackNetworkingSubnetV2(this, "subnet", {
              networkId: net.id,
              ...(UUID.test(props.existingSubnet)
                ? { subnetId: props.existingSubnet }
                : { name: props.existingSubnet }),
            });
      this.networkId = net.id;
      this.subnetId = subnet.id;
      this.cidr = subnet.cidr;
    }
  }
}
