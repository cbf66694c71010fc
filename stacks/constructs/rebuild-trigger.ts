/**
 * A `terraform_data` resource whose `triggers_replace` holds what should rebuild one server.
 * cdktf's DataResource does the same but adds a validation per instance that runs
 * `terraform version` during synth: one process per node, 150 s for 1000 nodes. This class emits
 * the same JSON without it (the project requires Terraform >= 1.4 once, in stacks/README.md).
 */
import type { Construct } from "constructs";
import { TerraformResource, anyToTerraform, hashMapper, type TerraformMetaArguments } from "cdktf";

/** Properties of {@link RebuildTrigger}. */
export interface RebuildTriggerProps extends TerraformMetaArguments {
  /** Values whose change replaces this resource, and every resource that names it in replace_triggered_by. */
  readonly triggersReplace: Readonly<Record<string, string>>;
}

/** One server's rebuild trigger (`terraform_data`). */
export class RebuildTrigger extends TerraformResource {
  /** The built-in resource type. */
  static readonly tfResourceType = "terraform_data";
  private readonly triggers: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: RebuildTriggerProps) {
    super(scope, id, { terraformResourceType: RebuildTrigger.tfResourceType, ...props });
    this.triggers = props.triggersReplace;
  }

  protected override synthesizeAttributes(): Record<string, unknown> {
    return { triggers_replace: hashMapper(anyToTerraform)(this.triggers) };
  }
}
