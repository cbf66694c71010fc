/**
 * Keystone authentication (k8s-keystone-auth): the sync ConfigMap maps each Keystone role to a
 * group; a RoleBinding in every mapped namespace binds that group to the role's ClusterRole; the
 * policy ConfigMap limits each project to its namespace. The apiserver's webhook kubeconfig is a
 * node file (src/k8s/render/apiserver.ts).
 */
import type { ClusterSpec } from "../../cluster/spec.js";
import type { KubeObject } from "../../infra/kube-types.js";
import { renderTemplate } from "../../templates/render.js";

/** ConfigMap names the webhook is started with (--policy-configmap-name, --sync-configmap-name). */
export const KEYSTONE_CONFIGMAPS = { policy: "k8s-auth-policy", sync: "keystone-sync-policy" } as const;

/** The group a Keystone role maps to. */
export function roleGroup(role: string): string {
  return `keystone:${role}`;
}

/** One entry of the webhook's authorization policy. */
export interface KeystonePolicy {
  readonly resource: {
    readonly namespace: string;
    readonly resources: readonly string[];
    readonly verbs: readonly string[];
    readonly version: string;
  };
  readonly match: readonly { readonly type: "project" | "role"; readonly values: readonly string[] }[];
}

/** Project → namespace: members of a project reach its namespace (RBAC decides what they may do). */
export function keystonePolicies(spec: ClusterSpec): KeystonePolicy[] {
  return (spec.inventory.keystone?.auth.projectNamespaces ?? []).map((p) => ({
    resource: { namespace: p.namespace, resources: ["*"], verbs: ["*"], version: "*" },
    match: [{ type: "project", values: [p.project] }],
  }));
}

/** Every Keystone object yagura renders; none unless keystone.auth is enabled. */
export function keystoneObjects(spec: ClusterSpec): KubeObject[] {
  const auth = spec.inventory.keystone?.auth;
  if (!auth?.enabled) return [];
  const sync = renderTemplate("addons/keystone-sync.yaml.hbs", {
    roleMappings: auth.roleMappings.map((m) => ({ role: m.role, group: roleGroup(m.role) })),
  });
  const namespaces = [...new Set(auth.projectNamespaces.map((p) => p.namespace))];
  return [
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: KEYSTONE_CONFIGMAPS.policy, namespace: "kube-system" },
      data: { policies: `${JSON.stringify(keystonePolicies(spec), null, 2)}\n` },
    },
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: KEYSTONE_CONFIGMAPS.sync, namespace: "kube-system" },
      data: { syncConfig: sync },
    },
    ...namespaces.map((ns) => ({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } })),
    ...namespaces.flatMap((ns) =>
      auth.roleMappings.map((m) => ({
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "RoleBinding",
        metadata: {
          name: `keystone-${m.role}-${m.clusterRole}`.toLowerCase().replace(/[^a-z0-9.-]/g, "-"),
          namespace: ns,
        },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: m.clusterRole },
        subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: roleGroup(m.role) }],
      })),
    ),
  ];
}
