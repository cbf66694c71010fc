/**
 * The control-plane and worker security groups and their ingress rules (see security-rules.ts for
 * what is open and why). Ports, not servers, carry the groups.
 */
import { Construct } from "constructs";
import type { ITerraformDependable } from "cdktf";
import { NetworkingSecgroupV2 } from "../../.gen/providers/openstack/networking-secgroup-v2/index.js";
import { NetworkingSecgroupRuleV2 } from "../../.gen/providers/openstack/networking-secgroup-rule-v2/index.js";
import { type ClusterRef, requireCidr, tagsFor } from "./common.js";
import { type GroupName, type RuleInputs, securityRules } from "./security-rules.js";
import { invalidProp } from "../errors.js";

/** Properties of {@link SecurityGroups}. */
export interface SecurityGroupsProps extends ClusterRef, RuleInputs {
  /** What the groups must wait for (a project created by this stack). @default [] */
  readonly dependsOn?: ITerraformDependable[];
}

/** Security groups for control-plane and worker ports. */
export class SecurityGroups extends Construct {
  /** Group id per role. */
  readonly groupIds: Readonly<Record<GroupName, string>>;

  constructor(scope: Construct, id: string, props: SecurityGroupsProps) {
    super(scope, id);
    requireCidr("SecurityGroups", "operatorCidr", props.operatorCidr);
    props.apiAllowedCidrs.forEach((c, i) => {
      requireCidr("SecurityGroups", `apiAllowedCidrs[${i}]`, c);
      if (c.endsWith("/0"))
        throw invalidProp(
          "SecurityGroups",
          `apiAllowedCidrs[${i}]`,
          c,
          "the API must not be open to every address; list the networks that need it",
        );
    });
    if (props.operatorCidr.endsWith("/0")) {
      throw invalidProp(
        "SecurityGroups",
        "operatorCidr",
        props.operatorCidr,
        "SSH must not be open to every address; name the operators' network",
      );
    }
    const groups = {} as Record<GroupName, NetworkingSecgroupV2>;
    for (const g of ["control-plane", "worker"] as const) {
      groups[g] = new NetworkingSecgroupV2(this, g, {
        name: `${props.cluster}-${g}`,
        description: `${g} nodes of cluster ${props.cluster} (${props.env})`,
        tags: tagsFor(props, { role: g }),
        dependsOn: props.dependsOn?.length ? props.dependsOn : undefined,
      });
    }
    this.groupIds = { "control-plane": groups["control-plane"].id, worker: groups.worker.id };
    for (const r of securityRules(props)) {
      new NetworkingSecgroupRuleV2(this, `${r.group}-${r.id}`, {
        securityGroupId: groups[r.group].id,
        direction: "ingress",
        ethertype: "IPv4",
        description: r.description,
        protocol: r.protocol,
        portRangeMin: r.portMin,
        portRangeMax: r.portMax,
        ...("cidr" in r.remote ? { remoteIpPrefix: r.remote.cidr } : { remoteGroupId: groups[r.remote.group].id }),
      });
    }
  }
}
