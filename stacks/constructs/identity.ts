/**
 * Keystone: the cluster's project (created, or an existing one looked up), and one dedicated user per
 * cloud integration with the least roles it needs, owning one application credential. The
 * credential's secret only leaves Terraform as a sensitive output.
 */
import { Construct } from "constructs";
import { TerraformOutput, TerraformVariable, type ITerraformDependable } from "cdktf";
import { OpenstackProvider } from "../../.gen/providers/openstack/provider/index.js";
import { IdentityProjectV3 } from "../../.gen/providers/openstack/identity-project-v3/index.js";
import { DataOpenstackIdentityProjectV3 } from "../../.gen/providers/openstack/data-openstack-identity-project-v3/index.js";
import { DataOpenstackIdentityRoleV3 } from "../../.gen/providers/openstack/data-openstack-identity-role-v3/index.js";
import { DataOpenstackIdentityAuthScopeV3 } from "../../.gen/providers/openstack/data-openstack-identity-auth-scope-v3/index.js";
import { IdentityUserV3 } from "../../.gen/providers/openstack/identity-user-v3/index.js";
import { IdentityRoleAssignmentV3 } from "../../.gen/providers/openstack/identity-role-assignment-v3/index.js";
import { IdentityApplicationCredentialV3 } from "../../.gen/providers/openstack/identity-application-credential-v3/index.js";
import type { Inventory } from "../../src/inventory/schema.js";
import { type ClusterRef, requireNonEmpty, tagsFor } from "./common.js";
import { invalidProp } from "../errors.js";

/** A cloud integration that gets its own user and application credential. */
export type Integration = NonNullable<Inventory["keystone"]>["applicationCredentials"][number];

/** Keystone roles each integration needs on the project (least privilege). */
export function integrationRoles(integration: Integration, octaviaApi: boolean): string[] {
  if (integration === "cloud-controller-manager" && octaviaApi) return ["member", "load-balancer_member"];
  return ["member"];
}

/** Snake-case name used for outputs and variables, e.g. `cloud_controller_manager`. */
export function integrationKey(integration: Integration): string {
  return integration.replace(/-/g, "_");
}

/** Properties of {@link Identity}. */
export interface IdentityProps extends ClusterRef {
  /** The inventory's keystone section. */
  readonly keystone: NonNullable<Inventory["keystone"]>;
  /** clouds.yaml entry the integration users authenticate through (auth URL, CA). */
  readonly cloud: string;
  readonly region: string;
  /** Keystone URL for the integration users; when unset, the one in the clouds.yaml entry. @default undefined */
  readonly authUrl?: string;
  /** Provider for Keystone administration (projects, users, role assignments). */
  readonly adminProvider: OpenstackProvider;
  /** True when the API sits behind Octavia, so the CCM also needs `load-balancer_member`. @default false */
  readonly octaviaApi?: boolean;
}

/** The cluster's Keystone project, integration users, roles and application credentials. */
export class Identity extends Construct {
  /** The project's id (a Terraform reference). */
  readonly projectId: string;
  /** What project-scoped resources must wait for when the project is created by this stack. */
  readonly ready: ITerraformDependable[] = [];

  constructor(scope: Construct, id: string, props: IdentityProps) {
    super(scope, id);
    const project = props.keystone.project;
    requireNonEmpty("Identity", "keystone.project.name", project.name);
    const seen = new Set<string>();
    for (const i of props.keystone.applicationCredentials) {
      if (seen.has(i))
        throw invalidProp("Identity", "keystone.applicationCredentials", i, "listed twice; list each integration once");
      seen.add(i);
    }
    const admin = props.adminProvider;
    const octavia = props.octaviaApi ?? false;

    if (project.existing) {
      this.projectId = new DataOpenstackIdentityProjectV3(this, "project", {
        provider: admin,
        name: project.name,
        domainId: project.domain,
      }).id;
    } else {
      const created = new IdentityProjectV3(this, "project", {
        provider: admin,
        name: project.name,
        domainId: project.domain,
        description: `Kubernetes cluster ${props.cluster} (${props.env})`,
        tags: tagsFor(props),
      });
      this.projectId = created.id;
      this.ready.push(created);
    }

    const roleNames = new Set<string>(["member"]);
    for (const i of props.keystone.applicationCredentials)
      for (const r of integrationRoles(i, octavia)) roleNames.add(r);
    if (!project.existing && octavia) roleNames.add("load-balancer_member");
    const roles = new Map<string, string>();
    for (const name of roleNames) {
      roles.set(name, new DataOpenstackIdentityRoleV3(this, `role-${name}`, { provider: admin, name }).id);
    }

    if (!project.existing) {
      // A fresh project has no members: give the deploying user the roles it needs to build in it.
      const deployer = new DataOpenstackIdentityAuthScopeV3(this, "deployer", { provider: admin, name: "deployer" });
      for (const r of octavia ? ["member", "load-balancer_member"] : ["member"]) {
        this.ready.push(
          new IdentityRoleAssignmentV3(this, `deployer-${r}`, {
            provider: admin,
            userId: deployer.userId,
            projectId: this.projectId,
            roleId: roles.get(r)!,
          }),
        );
      }
    }

    for (const integration of props.keystone.applicationCredentials) {
      this.integration(props, integration, roles, octavia);
    }
  }

  private integration(props: IdentityProps, integration: Integration, roles: Map<string, string>, octavia: boolean) {
    const key = integrationKey(integration);
    const userName = `${props.cluster}-${integration}`;
    // The operator picks the integration user's password (TF_VAR_<key>_password): it never enters the
    // synthesized JSON, and a provider configured from known values can authenticate at plan time.
    const password = new TerraformVariable(this, `${key}_password`, {
      type: "string",
      sensitive: true,
      description: `Password of the Keystone user ${userName}; set TF_VAR_${key}_password`,
    });
    password.overrideLogicalId(`${key}_password`);
    const user = new IdentityUserV3(this, `${integration}-user`, {
      provider: props.adminProvider,
      name: userName,
      domainId: props.keystone.project.domain,
      defaultProjectId: this.projectId,
      password: password.stringValue,
      description: `${integration} of cluster ${props.cluster} (${props.env})`,
    });
    const roleNames = integrationRoles(integration, octavia);
    const assignments = roleNames.map(
      (r) =>
        new IdentityRoleAssignmentV3(this, `${integration}-${r}`, {
          provider: props.adminProvider,
          userId: user.id,
          projectId: this.projectId,
          roleId: roles.get(r)!,
        }),
    );
    // Application credentials belong to the authenticated user, so this one is created through a
    // provider that logs in as the integration user, scoped to the cluster's project.
    const asUser = new OpenstackProvider(this, `${integration}-provider`, {
      alias: key,
      cloud: props.authUrl === undefined ? props.cloud : undefined,
      authUrl: props.authUrl,
      region: props.region,
      userName,
      userDomainId: props.keystone.project.domain,
      password: password.stringValue,
      tenantName: props.keystone.project.name,
      projectDomainId: props.keystone.project.domain,
    });
    const credential = new IdentityApplicationCredentialV3(this, `${integration}-credential`, {
      provider: asUser,
      name: userName,
      description: `${integration} of cluster ${props.cluster} (${props.env})`,
      roles: roleNames,
      unrestricted: false,
      dependsOn: assignments,
    });
    new TerraformOutput(this, `${key}_credential`, {
      staticId: true,
      sensitive: true,
      description: `Application credential of ${integration}: id and secret`,
      value: { id: credential.id, secret: credential.secret },
    });
  }
}
