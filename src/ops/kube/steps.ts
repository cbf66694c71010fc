/** Small steps shared by the Kubernetes API ops. */
import type { KubeApi, KubeObjectRef } from "../../infra/kube-types.js";
import type { OpContext } from "../types.js";

/** Command target of steps that talk to the API rather than to one node. */
export const KUBE_TARGET = "kube";

/** The pass's API client; its absence is a wiring bug, since decide only returns API ops when it observed the API. */
export function kubeOf(ctx: OpContext, step: string): KubeApi {
  if (!ctx.kube)
    throw new Error(`${step}: this pass has no Kubernetes API client (a bug in yagura: API ops need material.kube)`);
  return ctx.kube;
}

/** The ServiceAccount the controller manager creates in every namespace; `default/default` existing means it runs. */
export const DEFAULT_SERVICE_ACCOUNT: KubeObjectRef = {
  apiVersion: "v1",
  kind: "ServiceAccount",
  namespace: "default",
  name: "default",
};
