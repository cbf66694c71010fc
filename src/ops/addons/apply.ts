/**
 * addons-apply: server-side apply (field manager yagura) of the due objects, one command per rank
 * so the record shows how far a failed pass got; CRDs are waited for until Established before the
 * next rank; then the record of managed objects is rewritten, pruning what left it when asked.
 */
import type { ApplyPlan } from "../../addons/apply.js";
import { readRecord, recordedKeys, type AddonsDesired } from "../../addons/desired.js";
import { keyOf, rankOf, refOf } from "../../addons/objects.js";
import type { KubeObject } from "../../infra/kube-types.js";
import { pollUntil } from "../etcd/steps.js";
import { command, sequenceOp, type Command, type OpContext, type Op } from "../types.js";
import { crdRef, established, kubeOf, parseKey } from "./kube.js";

/** How long a CRD may take to become Established. */
export const CRD_TIMEOUT_MS = 60_000;

async function waitEstablished(ctx: OpContext, names: readonly string[]): Promise<void> {
  const kube = kubeOf(ctx);
  for (const name of names) {
    await pollUntil(ctx, `CRD ${name} Established`, CRD_TIMEOUT_MS, async () =>
      established(await kube.get(crdRef(name))) ? true : "not Established yet",
    );
  }
}

function applyRank(rank: number, objs: readonly KubeObject[]): Command {
  const kinds = [...new Set(objs.map((o) => o.kind))].join("+");
  return command(`apply-${String(rank).padStart(3, "0")}-${kinds}`, "kube", async (ctx) => {
    const kube = kubeOf(ctx);
    for (const o of objs) {
      try {
        // force: yagura owns the fields it sends, even when an earlier manual apply claimed them.
        await kube.apply(o, { force: true });
      } catch (err) {
        throw new Error(`apply ${keyOf(refOf(o))}: ${(err as Error).message}`);
      }
    }
    const crds = objs.filter((o) => o.kind === "CustomResourceDefinition").map((o) => o.metadata.name);
    if (crds.length > 0) await waitEstablished(ctx, crds);
  });
}

/** Rewrites the record; with prune, first deletes (last rank first) what the old record has and the new one lacks. */
function writeRecord(a: AddonsDesired): Command {
  return command(a.prune ? "prune-and-record" : "record", "kube", async (ctx) => {
    const kube = kubeOf(ctx);
    if (a.prune) {
      const keep = new Set(recordedKeys(a.objects));
      const stale = readRecord(await kube.get(refOf(a.record)))
        .filter((k) => !keep.has(k))
        .map(parseKey)
        .sort((x, y) => rankOf(y.kind) - rankOf(x.kind));
      for (const ref of stale) await kube.delete(ref);
    }
    await kube.apply(a.record, { force: true });
  });
}

/** The op for a plan; undefined when it has nothing to do. */
export function addonsApplyOp(plan: ApplyPlan, a: AddonsDesired): Op | undefined {
  const commands: Command[] = [];
  if (plan.waitEstablished.length > 0) {
    commands.push(command("wait-crds-established", "kube", (ctx) => waitEstablished(ctx, plan.waitEstablished)));
  }
  const ranks = [...new Set(plan.apply.map((o) => rankOf(o.kind)))];
  for (const r of ranks)
    commands.push(
      applyRank(
        r,
        plan.apply.filter((o) => rankOf(o.kind) === r),
      ),
    );
  if (plan.recordOutdated) commands.push(writeRecord(a));
  if (commands.length === 0) return undefined;
  return sequenceOp("addons-apply", ["kube"], commands);
}
