/** kube-apply: server-side apply of objects yagura alone owns, one command per object, in the given order. */
import type { KubeObject } from "../../infra/kube-types.js";
import { command, sequenceOp, type Op } from "../types.js";
import { KUBE_TARGET, kubeOf } from "./steps.js";

/**
 * Applies each object with force: these objects are yagura's, so a field someone else took over
 * (a hand edit) is taken back rather than reported as a conflict every pass.
 */
export function kubeApplyOp(name: string, objects: readonly KubeObject[]): Op {
  return sequenceOp(
    name,
    objects.map((o) => `${o.kind}/${o.metadata.name}`),
    objects.map((o) =>
      command(
        `apply ${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ""}${o.metadata.name}`,
        KUBE_TARGET,
        async (ctx) => {
          await kubeOf(ctx, "apply").apply(o, { force: true });
        },
      ),
    ),
  );
}
