/**
 * The security-group rule set as data: a pure function of the cluster's settings, so the rules can
 * be read, tested and reviewed apart from the resources that carry them. Only ingress rules are
 * listed; each group keeps Neutron's default egress rules.
 */

/** The two groups every node port gets one of. */
export type GroupName = "control-plane" | "worker";

/** One ingress rule. `remote` is a CIDR or one of the two groups. */
export interface RuleSpec {
  /** Stable id (the Terraform resource id under the group). */
  readonly id: string;
  readonly group: GroupName;
  readonly description: string;
  /** Neutron protocol: "tcp", "udp" or an IP protocol number ("4" is IP-in-IP). */
  readonly protocol: string;
  readonly portMin?: number;
  readonly portMax?: number;
  readonly remote: { readonly cidr: string } | { readonly group: GroupName };
}

/** What the rule set depends on. */
export interface RuleInputs {
  /** Where the Kubernetes API may be reached from (besides the node network). */
  readonly apiAllowedCidrs: readonly string[];
  /** The node subnet's CIDR (literal or Terraform reference). */
  readonly nodeCidr: string;
  /** The load balancer's VIP subnet CIDR when it differs from the node subnet. */
  readonly lbVipCidr?: string;
  /** Where operators SSH from. */
  readonly operatorCidr: string;
  /** Calico encapsulations in use (the default pool's and every IP pool's). */
  readonly encapsulations: ReadonlySet<"None" | "IPIP" | "VXLAN">;
  /** Pod CIDRs routed without encapsulation (their traffic reaches nodes un-NATed). */
  readonly unencapsulatedPodCidrs: readonly string[];
  /** Open the NodePort range. */
  readonly nodePorts: boolean;
}

const GROUPS: readonly GroupName[] = ["control-plane", "worker"];

/** Computes every ingress rule of both groups. */
export function securityRules(inp: RuleInputs): RuleSpec[] {
  const rules: RuleSpec[] = [];
  const add = (r: RuleSpec) => rules.push(r);

  const apiSources: { key: string; cidr: string; why: string }[] = [
    { key: "nodes", cidr: inp.nodeCidr, why: "node network" },
  ];
  if (inp.lbVipCidr !== undefined && inp.lbVipCidr !== inp.nodeCidr) {
    apiSources.push({ key: "lb-vip", cidr: inp.lbVipCidr, why: "load balancer VIP subnet" });
  }
  inp.apiAllowedCidrs.forEach((cidr, i) => {
    if (!apiSources.some((s) => s.cidr === cidr))
      apiSources.push({ key: `allowed-${i}`, cidr, why: "apiEndpoint.allowedCidrs" });
  });
  for (const s of apiSources) {
    add({
      id: `api-${s.key}`,
      group: "control-plane",
      description: `Kubernetes API from the ${s.why}`,
      protocol: "tcp",
      portMin: 6443,
      portMax: 6443,
      remote: { cidr: s.cidr },
    });
  }
  add({
    id: "etcd",
    group: "control-plane",
    description: "etcd peers and clients between control-plane nodes",
    protocol: "tcp",
    portMin: 2379,
    portMax: 2380,
    remote: { group: "control-plane" },
  });

  for (const g of GROUPS) {
    add({
      id: "kubelet",
      group: g,
      description: "kubelet API from the control plane",
      protocol: "tcp",
      portMin: 10250,
      portMax: 10250,
      remote: { group: "control-plane" },
    });
    for (const from of GROUPS) {
      add({
        id: `bgp-from-${from}`,
        group: g,
        description: `Calico BGP from ${from} nodes`,
        protocol: "tcp",
        portMin: 179,
        portMax: 179,
        remote: { group: from },
      });
      if (inp.encapsulations.has("IPIP")) {
        add({
          id: `ipip-from-${from}`,
          group: g,
          description: `Calico IP-in-IP from ${from} nodes`,
          protocol: "4",
          remote: { group: from },
        });
      }
      if (inp.encapsulations.has("VXLAN")) {
        add({
          id: `vxlan-from-${from}`,
          group: g,
          description: `Calico VXLAN from ${from} nodes`,
          protocol: "udp",
          portMin: 4789,
          portMax: 4789,
          remote: { group: from },
        });
      }
    }
    // Unencapsulated pod traffic arrives with pod source addresses; without this rule Neutron
    // drops it even though the ports allow the pod CIDR as an address pair.
    inp.unencapsulatedPodCidrs.forEach((cidr, i) => {
      for (const protocol of ["tcp", "udp", "icmp"]) {
        add({
          id: `pods-${i}-${protocol}`,
          group: g,
          description: "pod traffic routed without encapsulation",
          protocol,
          remote: { cidr },
        });
      }
    });
    if (inp.nodePorts) {
      // Service load balancers (created by the cloud controller manager) reach NodePorts from the
      // node network; operators test them from their own network.
      const sources = [{ key: "nodes", cidr: inp.nodeCidr }];
      if (inp.operatorCidr !== inp.nodeCidr) sources.push({ key: "operators", cidr: inp.operatorCidr });
      for (const s of sources) {
        for (const protocol of ["tcp", "udp"]) {
          add({
            id: `nodeports-${protocol}-${s.key}`,
            group: g,
            description: `NodePort services from the ${s.key === "nodes" ? "node network" : "operator network"}`,
            protocol,
            portMin: 30000,
            portMax: 32767,
            remote: { cidr: s.cidr },
          });
        }
      }
    }
    add({
      id: "ssh",
      group: g,
      description: "SSH from the operator network",
      protocol: "tcp",
      portMin: 22,
      portMax: 22,
      remote: { cidr: inp.operatorCidr },
    });
  }
  return rules;
}
