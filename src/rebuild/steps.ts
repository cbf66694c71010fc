/**
 * What each plan step does. Every step checks before it acts, so running it again after a crash
 * is harmless: a drained node drains at once, a member already gone is not removed twice, a wiped
 * node wipes to the same result. A step that cannot run here says why and counts as skipped.
 */
import { quorum } from "../cluster/status.js";
import { clientURL } from "../ops/etcd/layout.js";
import { etcdRemoveMemberOp } from "../ops/etcd/membership.js";
import { stopAndSetAside } from "../ops/etcd/steps.js";
import type { Op, OpContext } from "../ops/types.js";
import { reimageScript } from "../lab/index.js";
import { reconcileLoop, type LoopEvent } from "../run/loop.js";
import type { RecordWriter } from "../run/records.js";
import { session } from "../run/session.js";
import { supervisorFor } from "../supervisor/index.js";
import { OperationFailedError, RefusedError } from "../cli/errors.js";
import { memberOf } from "./changes.js";
import { joinedSpec, reachSpec, withPass, type RebuildEnv } from "./context.js";
import { drainNodes, uncordonNodes } from "./drain.js";
import { builtPath, builtText, writeBuilt } from "./existing.js";
import { stackStep, type StepOutcome } from "./stack.js";
import type { ExistingNode, PlanStep } from "./types.js";

/** What the steps share during one apply. */
export interface StepDeps {
  readonly env: RebuildEnv;
  readonly existing: readonly ExistingNode[];
  readonly records: RecordWriter;
  /** Fencing check of the environment lock. */
  check(): void;
  readonly scope: "etcd" | "all";
  readonly maxPasses: number;
  readonly drainTimeoutMs: number;
  progress(e: LoopEvent): void;
  /** Stores the build record where the state backend keeps it (fenced). @default the local file */
  recordBuilt?(text: string): Promise<void>;
}

const done = (message: string): StepOutcome => ({ kind: "done", message });
const skipped = (message: string): StepOutcome => ({ kind: "skipped", message });

/** Runs an op's commands in order with an op record, as the loop does. */
async function runOp(op: Op, ctx: OpContext, d: StepDeps, phase: string): Promise<void> {
  let rec = d.records.start(op.name, op.targets, phase);
  try {
    for (let c = op.nextCommand(); c; c = op.nextCommand()) {
      rec = d.records.update(rec, { command: `${c.name}@${c.target}` });
      await c.run(ctx);
    }
    d.records.update(rec, { status: "succeeded", endedAt: new Date().toISOString() });
  } catch (err) {
    d.records.update(rec, { status: "failed", error: (err as Error).message, endedAt: new Date().toISOString() });
    throw err;
  }
}

const answers = async (ctx: OpContext, node: string) =>
  ctx.shell.exec(node, "true").then(
    (r) => r.code === 0,
    () => false,
  );

/** Leaves etcd: removes the node's member when the others keep a healthy quorum, stops its etcd. */
async function etcdLeave(ctx: OpContext, d: StepDeps, name: string): Promise<StepOutcome> {
  const all = reachSpec(d.env.spec, d.existing);
  const node = all.nodes.find((n) => n.name === name)!;
  const cps = all.nodes.filter((n) => n.role === "control-plane" || n.name === name);
  const admin = ctx.etcdAdmin(cps.map((n) => clientURL(n)));
  try {
    const members = await admin.members();
    const m = memberOf(
      members.map((x) => ({ ...x, healthy: true, inSync: true })),
      node,
    );
    const reachable = await answers(ctx, name);
    if (!m) {
      if (reachable)
        await stopAndSetAside(ctx, name, supervisorFor(node), new Date().toISOString().replace(/[-:.]/g, ""));
      return done(`${name} is not an etcd member (already left)`);
    }
    const voters = members.filter((x) => !x.isLearner);
    const healthy: string[] = [];
    for (const v of voters) {
      if (v.id === m.id || !v.clientURLs[0]) continue;
      const s = await admin.endpointStatus(v.clientURLs[0]).catch(() => undefined);
      if (s?.healthy) healthy.push(v.clientURLs[0]);
    }
    const after = voters.length - (m.isLearner ? 0 : 1);
    if (!m.isLearner && (after < 1 || healthy.length < quorum(after))) {
      throw new RefusedError(
        `removing ${name} from etcd would leave ${healthy.length} healthy of ${after} voters (quorum ${quorum(after)}): ` +
          `repair the other members (\`yagura reconcile ${d.env.spec.env} --scope etcd\`), then apply again`,
      );
    }
    const op = etcdRemoveMemberOp(m.id, name, reachable ? { name, supervisor: supervisorFor(node) } : undefined, {
      endpoints: healthy,
      asideSuffix: new Date().toISOString().replace(/[-:.]/g, ""),
      token: "",
    });
    await runOp(op, ctx, d, "rebuild-etcd-leave");
    return done(
      `member ${name} removed${reachable ? ", its etcd stopped and its data set aside" : " (node unreachable)"}`,
    );
  } finally {
    await admin.close().catch(() => undefined);
  }
}

/** Stops yagura's services and wipes its directories on each node (those that answer, for `release`). */
async function wipe(ctx: OpContext, nodes: readonly string[], gone: "fail" | "skip"): Promise<StepOutcome> {
  const out: string[] = [];
  for (const n of nodes) {
    if (gone === "skip" && !(await answers(ctx, n))) {
      out.push(`${n}: does not answer (already gone)`);
      continue;
    }
    await ctx.shell.run(n, "sh -s", { stdin: reimageScript(), timeoutMs: 120_000 });
    out.push(`${n}: wiped`);
  }
  return done(out.join("; "));
}

/** Runs the reconcile loop on the inventory (joined with the stack) until completed. */
async function reconcile(d: StepDeps): Promise<StepOutcome> {
  const spec = joinedSpec(d.env);
  const io = session(spec, { ...d.env.session, scope: d.scope });
  const r = await reconcileLoop(
    {
      spec,
      prepare: io.prepare,
      open: io.open,
      records: d.records,
      now: () => new Date(),
      sleep: (ms) => new Promise((res) => setTimeout(res, ms)),
      progress: d.progress,
    },
    { scope: d.scope, maxPasses: d.maxPasses },
  );
  if (r.outcome === "completed") return done(`completed after ${r.passes} pass(es), ${r.opsRun} op(s)`);
  if (r.outcome === "stuck") throw new RefusedError(`reconcile stopped at ${r.phase}: ${r.message}`);
  throw new OperationFailedError(`reconcile failed at ${r.phase}: ${r.message}`);
}

/** Runs one step; throws when it fails (the journal then says where to resume). */
export async function runStep(step: PlanStep, d: StepDeps): Promise<StepOutcome> {
  const managed = (n: string) =>
    d.env.spec.nodes.find((x) => x.name === n)?.managed ?? d.existing.find((x) => x.name === n)?.managed ?? false;
  switch (step.action) {
    case "stack-deploy":
      return stackStep(d.env.spec.env, "deploy", step.nodes.filter(managed), { withPki: d.env.session.withPki });
    case "stack-replace":
      return stackStep(d.env.spec.env, "replace", step.nodes.filter(managed), { withPki: d.env.session.withPki });
    case "drain":
    case "uncordon":
      return withPass(d.env, d.existing, async (ctx) => {
        if (!ctx.kube) return skipped(`no Kubernetes API: ${step.action} skipped`);
        const known = new Set((await ctx.kube.listNodes()).map((n) => n.name));
        const nodes = step.nodes.filter((n) => known.has(n));
        const absent = step.nodes.filter((n) => !known.has(n));
        const note = absent.length ? `; not registered with the API: ${absent.join(", ")}` : "";
        const timing = { timeoutMs: d.drainTimeoutMs, sleep: ctx.sleep, now: ctx.now };
        if (step.action === "uncordon") {
          await uncordonNodes(ctx.kube, nodes, timing);
          return done(`uncordoned ${nodes.join(", ") || "none"} (Ready)${note}`);
        }
        const r = await drainNodes(ctx.kube, nodes, timing);
        const down = r.unconfirmed.length ? `; ${r.unconfirmed.length} evicted on a node whose kubelet is down` : "";
        return done(
          `cordoned ${nodes.join(", ") || "none"}, evicted ${r.evicted.length} pod(s), left ${r.left.length} (DaemonSet, mirror, finished)${down}${note}`,
        );
      });
    case "etcd-leave":
      return withPass(d.env, d.existing, (ctx) => etcdLeave(ctx, d, step.nodes[0]!));
    case "reimage":
      return withPass(d.env, d.existing, (ctx) => wipe(ctx, step.nodes, "fail"));
    case "release":
      return withPass(d.env, d.existing, (ctx) => wipe(ctx, step.nodes, "skip"));
    case "reconcile":
      return reconcile(d);
    case "record-built":
      if (d.recordBuilt) await d.recordBuilt(builtText(d.env.spec));
      else writeBuilt(builtPath(session(d.env.spec, d.env.session).paths.dir), d.env.spec, d.check);
      return done(`recorded how ${d.env.spec.nodes.length} node(s) are built`);
  }
}
