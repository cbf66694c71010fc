/**
 * The Kubernetes API endpoint. With `loadbalancer`, an Octavia load balancer on the node subnet:
 * a TCP listener on 6443 limited to the allowed networks, a pool with one member per control-plane
 * node, a TCP health monitor and, optionally, a floating IP. With `local-proxy`, nothing is created:
 * every node proxies to the control-plane addresses, which are the endpoint.
 */
import { Construct } from "constructs";
import { LbLoadbalancerV2 } from "../../.gen/providers/openstack/lb-loadbalancer-v2/index.js";
import { LbListenerV2 } from "../../.gen/providers/openstack/lb-listener-v2/index.js";
import { LbPoolV2 } from "../../.gen/providers/openstack/lb-pool-v2/index.js";
import { LbMemberV2 } from "../../.gen/providers/openstack/lb-member-v2/index.js";
import { LbMonitorV2 } from "../../.gen/providers/openstack/lb-monitor-v2/index.js";
import { NetworkingFloatingipV2 } from "../../.gen/providers/openstack/networking-floatingip-v2/index.js";
import { type ClusterRef, idOf, tagsFor } from "./common.js";
import { invalidProp } from "../errors.js";

/** The API server port everywhere. */
export const API_PORT = 6443;

/** Properties of {@link ApiEndpoint}. */
export interface ApiEndpointProps extends ClusterRef {
  /** `loadbalancer` (Octavia) or `local-proxy`. @default "local-proxy" */
  readonly type?: "loadbalancer" | "local-proxy";
  /** Give the load balancer a floating IP from the external network. @default false */
  readonly floatingIp?: boolean;
  /** Networks allowed to reach the listener besides the node network. @default [] */
  readonly allowedCidrs?: readonly string[];
  /** Node subnet (the VIP and the members live there). */
  readonly subnetId: string;
  /** Node subnet CIDR, always allowed on the listener (kubelets, controllers). */
  readonly nodeCidr: string;
  /** Floating IP pool (external network name). */
  readonly floatingIpPool: string;
  /** Control-plane nodes: name and fixed address. */
  readonly controlPlane: readonly { readonly name: string; readonly address: string }[];
}

/** The API endpoint: an Octavia load balancer, or the control-plane addresses. */
export class ApiEndpoint extends Construct {
  /** Address clients use (floating IP, VIP, or the first control-plane address). */
  readonly address: string;
  readonly type: "loadbalancer" | "local-proxy";

  constructor(scope: Construct, id: string, props: ApiEndpointProps) {
    super(scope, id);
    this.type = props.type ?? "local-proxy";
    if (props.controlPlane.length === 0)
      throw invalidProp("ApiEndpoint", "controlPlane", [], "at least one control-plane node is needed");
    if (this.type === "local-proxy") {
      if (props.floatingIp)
        throw invalidProp("ApiEndpoint", "floatingIp", true, "a floating IP needs type loadbalancer");
      this.address = props.controlPlane[0]!.address;
      return;
    }
    const tags = tagsFor(props, { role: "control-plane" });
    const lb = new LbLoadbalancerV2(this, "lb", {
      name: `${props.cluster}-api`,
      description: `Kubernetes API of cluster ${props.cluster} (${props.env})`,
      vipSubnetId: props.subnetId,
      tags,
    });
    // Octavia opens the VIP to every address unless the listener lists sources.
    const listener = new LbListenerV2(this, "listener", {
      name: `${props.cluster}-api`,
      loadbalancerId: lb.id,
      protocol: "TCP",
      protocolPort: API_PORT,
      allowedCidrs: [props.nodeCidr, ...(props.allowedCidrs ?? []).filter((c) => c !== props.nodeCidr)],
      tags,
    });
    const pool = new LbPoolV2(this, "pool", {
      name: `${props.cluster}-api`,
      listenerId: listener.id,
      protocol: "TCP",
      lbMethod: "ROUND_ROBIN",
      tags,
    });
    new LbMonitorV2(this, "monitor", { poolId: pool.id, type: "TCP", delay: 5, timeout: 3, maxRetries: 3 });
    for (const cp of props.controlPlane) {
      new LbMemberV2(this, `member-${idOf(cp.name)}`, {
        name: cp.name,
        poolId: pool.id,
        address: cp.address,
        protocolPort: API_PORT,
        subnetId: props.subnetId,
        tags,
      });
    }
    if (props.floatingIp) {
      const fip = new NetworkingFloatingipV2(this, "floating-ip", {
        pool: props.floatingIpPool,
        portId: lb.vipPortId,
        description: `Kubernetes API of cluster ${props.cluster} (${props.env})`,
        tags,
      });
      this.address = fip.address;
    } else {
      this.address = lb.vipAddress;
    }
  }
}
