/**
 * `yagura plan ENV` and `yagura apply ENV`: the inventory-driven rebuild over the pure planner in
 * src/rebuild. `plan` prints the node changes and their steps (or the refusals), then the next
 * reconcile decision; `apply` carries the plan out under the environment lock with a step journal.
 * Both take --state like reconcile: apply holds the environment (and journals) where reconcilers
 * do, so the two exclude each other; plan reads the PKI from the store and takes no lock.
 */
import type { Command } from "commander";
import { StackOutputsError } from "../infra/stack-outputs.js";
import { parseDuration } from "../inventory/rules/syntax.js";
import type { RebuildEnv } from "../rebuild/context.js";
import { formatPlan } from "../rebuild/format.js";
import { BUILT_DOC, parseBuilt } from "../rebuild/existing.js";
import { openApply } from "../rebuild/journal.js";
import { STATE_HELP, withStateOptions, type StateFlags } from "../state/flags.js";
import type { StateBackend, WithPki } from "../state/types.js";
import { RefusedError, UserError } from "./errors.js";
import { requireClusterSpec, requireSpec } from "./inventory.js";
import { intOf, printEvent, scopeOf, withObservation } from "./reconcile.js";

/** Stack-output problems are the user's to fix (deploy, or name the outputs file). */
async function userErrors<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof StackOutputsError) throw new UserError(err.message, err.details);
    throw err;
  }
}

/** Registers plan and apply. */
export function registerRebuildCommands(program: Command): void {
  const rebuildEnv = (env: string, scope: "etcd" | "all", withPki?: WithPki): RebuildEnv & { file: string } => {
    const spec = requireSpec(env, program.opts().inventoryDir);
    const stackOutputs = program.opts().stackOutputs as string | undefined;
    return {
      spec,
      file: spec.file,
      session: { inventoryFile: spec.file, scope, ...(withPki ? { withPki } : {}) },
      ...(stackOutputs ? { stackOutputs } : {}),
    };
  };

  /** What `plan` prints; exit 4 (RefusedError) when apply would refuse. */
  const planCommand = async (env: string, scope: "etcd" | "all", backend: StateBackend) => {
    const [{ decide }, { computePlan, inventorySha }] = await Promise.all([
      import("../decide/index.js"),
      import("../rebuild/apply.js"),
    ]);
    const readPki = backend.readPki;
    const r = { ...rebuildEnv(env, scope, readPki), built: parseBuilt(await backend.readDocument(BUILT_DOC)) };
    const open = openApply(await backend.readJournal());
    if (open) {
      const same = open.inventorySha === inventorySha(r.file);
      const next = open.steps.find((x) => !open.finished.has(x.id))?.id ?? "(all done)";
      console.log(
        `an interrupted apply ${open.applyId} is open at step ${next}: ` +
          (same
            ? "apply resumes it"
            : "it planned another inventory; apply refuses until it is finished or --discard-journal"),
      );
    }
    const plan = await userErrors(() => computePlan(r));
    for (const l of formatPlan(plan)) console.log(l);
    let s;
    try {
      s = requireClusterSpec(env, { inventoryDir: program.opts().inventoryDir, stackOutputs: r.stackOutputs });
    } catch (err) {
      // The stack is behind the inventory (nodes to add): the ladder runs once apply deployed it.
      if (!(err instanceof UserError)) throw err;
      console.log(`next reconcile decision: after the stack step (${err.message})`);
      return;
    }
    await withObservation(
      s,
      (status, desired) => {
        const d = decide(s, status, { now: new Date(), desired, scope });
        console.log(`phase: ${d.phase}\n${d.message}`);
        for (const op of d.ops) {
          console.log(`op ${op.name} on ${op.targets.join(", ")}`);
          for (let c = op.nextCommand(); c; c = op.nextCommand()) console.log(`  - ${c.name} @ ${c.target}`);
        }
      },
      scope,
      readPki,
    );
    if (plan.refusals.length)
      throw new RefusedError(`apply would refuse: ${plan.refusals.map((x) => x.reason).join("; ")}`);
  };

  withStateOptions(program.command("plan"))
    .description(
      "show the node changes an apply would make and their order, then the next reconcile decision; changes nothing",
    )
    .argument("<env>", "environment name or inventory file")
    .option("--scope <scope>", "etcd or all", "all")
    .addHelpText(
      "after",
      "\nExample:\n  yagura plan lab --scope etcd\n\n" +
        "Certificates missing from the local PKI are issued locally; with an etcd --state the PKI is read\n" +
        "from the store and what plan issues is dropped (only the holder of the environment writes it).\n" +
        "plan takes no lock. A refused change prints its reason and the safe alternative (exit 4).\n" +
        STATE_HELP,
    )
    .action(async (env: string, o: StateFlags & { scope?: string }) => {
      const scope = scopeOf(o.scope);
      const spec = requireSpec(env, program.opts().inventoryDir);
      // The state backends (etcd client) load with the action, not with every command (scripts/build.mjs).
      const { stateFromFlags } = await import("../state/cli.js");
      const backend = stateFromFlags(spec.env, o);
      try {
        await planCommand(env, scope, backend);
      } finally {
        await backend.close();
      }
    });

  withStateOptions(program.command("apply"))
    .description("carry out the plan: stack, drain, leave etcd, replace or reimage, reconcile, uncordon")
    .argument("<env>", "environment name or inventory file")
    .option("--scope <scope>", "how far each reconcile goes: etcd or all", "all")
    .option("--max-passes <n>", "passes per reconcile step", "30")
    .option(
      "--drain-timeout <duration>",
      "give up a drain (or the wait for a rebuilt node to be Ready before uncordon) after this long, naming what blocks",
      "5m",
    )
    .option("--wait <seconds>", "wait this long for another reconciler to finish", "0")
    .option("--discard-journal", "close an interrupted apply of another inventory and plan afresh")
    .addHelpText(
      "after",
      "\nExamples:\n  yagura apply lab --scope etcd\n  yagura apply prod --drain-timeout 15m\n\n" +
        "An interrupted apply resumes at its first unfinished step when run again with the same inventory\n" +
        "(with an etcd --state, on any machine: the journal lives in the store). apply holds the environment\n" +
        "as reconcile does, so it waits for (--wait) or is refused by a reconciler holding it, and vice versa.\n" +
        "Exit 0 when done, 3 when a step failed (run again to resume), 4 when refused (the reason and the\n" +
        "safe alternative are printed) or locked.\n" +
        STATE_HELP,
    )
    .action(
      async (
        env: string,
        o: StateFlags & {
          scope?: string;
          maxPasses?: string;
          drainTimeout?: string;
          wait?: string;
          discardJournal?: boolean;
        },
      ) => {
        const scope = scopeOf(o.scope);
        const drainTimeoutMs = parseDuration(o.drainTimeout ?? "5m");
        if (!drainTimeoutMs)
          throw new UserError(
            `--drain-timeout must be a duration such as 90s or 5m, not ${JSON.stringify(o.drainTimeout)}`,
          );
        const maxPasses = intOf("--max-passes", o.maxPasses, 30);
        const waitMs = intOf("--wait", o.wait, 0) * 1000;
        const r = rebuildEnv(env, scope);
        const [{ stateFromFlags }, { applyRebuild }] = await Promise.all([
          import("../state/cli.js"),
          import("../rebuild/apply.js"),
        ]);
        const backend = stateFromFlags(r.spec.env, o);
        try {
          await userErrors(() =>
            applyRebuild(r, r.file, backend, {
              scope,
              maxPasses,
              drainTimeoutMs,
              waitMs,
              discardJournal: o.discardJournal === true,
              print: (l) => console.log(l),
              progress: printEvent,
            }),
          );
        } finally {
          await backend.close();
        }
      },
    );
}
