/**
 * The RBAC yagura's own components need from the API: the apiserver's kubelet client identity
 * may reach the kubelet API (logs, exec, port-forward and metrics go through nodes/proxy, stats,
 * log, spec and metrics). The same role CKE and "Kubernetes the hard way" create; bound to the
 * user of the certificate the apiserver presents to kubelets, so it works without that
 * certificate being in system:masters.
 */
import type { ClusterSpec } from "../../cluster/spec.js";
import type { KubeObject, KubeObjectRef } from "../../infra/kube-types.js";
import { K8S_CERT, k8sCertPlan } from "../../k8s/certs.js";
import { refOf, stamp } from "../../addons/objects.js";

const RBAC = "rbac.authorization.k8s.io/v1";
const NAME = "yagura:kube-apiserver-to-kubelet";

/** References of the objects below (fixed names), for observe. */
export const API_RBAC_REFS: readonly KubeObjectRef[] = [
  { apiVersion: RBAC, kind: "ClusterRole", name: NAME },
  { apiVersion: RBAC, kind: "ClusterRoleBinding", name: NAME },
];

/** The common name of the client certificate the apiserver uses towards kubelets. */
export function apiserverKubeletUser(spec: ClusterSpec): string {
  const entry = k8sCertPlan(spec).find((e) => e.request.name === K8S_CERT.apiserverKubeletClient);
  if (!entry) throw new Error(`no ${K8S_CERT.apiserverKubeletClient} certificate in the plan (a bug in yagura)`);
  return entry.request.commonName;
}

/** The ClusterRole and its binding, stamped (yagura's label and revision annotation) like every object yagura applies. */
export function apiRbacObjects(spec: ClusterSpec): KubeObject[] {
  const objs: KubeObject[] = [
    {
      apiVersion: RBAC,
      kind: "ClusterRole",
      metadata: { name: NAME },
      rules: [
        {
          apiGroups: [""],
          resources: ["nodes/proxy", "nodes/stats", "nodes/log", "nodes/spec", "nodes/metrics"],
          verbs: ["*"],
        },
      ],
    },
    {
      apiVersion: RBAC,
      kind: "ClusterRoleBinding",
      metadata: { name: NAME },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: NAME },
      subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: apiserverKubeletUser(spec) }],
    },
  ];
  const out = objs.map(stamp);
  // The refs observe watches must be these objects; a renamed object without its ref would be re-sent every pass.
  for (const o of out) {
    const r = refOf(o);
    if (!API_RBAC_REFS.some((x) => x.kind === r.kind && x.name === r.name))
      throw new Error(`${r.kind} ${r.name} is not observed (a bug in yagura)`);
  }
  return out;
}
