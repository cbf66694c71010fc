/**
 * `yagura reconcile | status | history ENV`: thin commands over the loop, the planner and
 * the records. Exit codes: 0 completed, 3 an op failed, 4 refused or stuck (see errors.ts).
 */
import type { Command } from "commander";
import { etcdConditions, nodeConditions, type ClusterStatus, type Condition } from "../cluster/status.js";
import type { observe } from "../observe/index.js";
import type { NodeShell } from "../infra/types.js";
import { kubeConditions, proxyModeConditions } from "../observe/kube-conditions.js";
import { parseDuration } from "../inventory/rules/syntax.js";
import type { Reload } from "../run/watch.js";
import type { LoopEvent } from "../run/loop.js";
import type { session } from "../run/session.js";
import { STATE_HELP, withStateOptions, type StateFlags } from "../state/flags.js";
import type { WithPki } from "../state/types.js";
import { OperationFailedError, RefusedError, UserError } from "./errors.js";
import { anyDriftFlag, driftFlagsOf } from "./drift.js";
import type { DriftFlags } from "../drift/watch.js";
import { requireClusterSpec } from "./inventory.js";

/** Parses --scope. */
export const scopeOf = (s: string | undefined): "etcd" | "all" => {
  if (s === undefined || s === "all" || s === "etcd") return s ?? "all";
  throw new UserError(`--scope must be "etcd" or "all", not ${JSON.stringify(s)}`);
};

/** Parses a whole-number flag. */
export const intOf = (name: string, v: string | undefined, dflt: number): number => {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new UserError(`${name} must be a whole number, not ${JSON.stringify(v)}`);
  return n;
};

/** Prints one loop event for people. */
export function printEvent(e: LoopEvent): void {
  if (e.kind === "pass") console.log(`pass ${e.pass}: ${e.decision.phase} — ${e.decision.message}`);
  else if (e.kind === "op-start") console.log(`  … ${e.op} on ${e.targets.join(", ")}`);
  else if (e.kind === "op-done") console.log(`  ✓ ${e.op} (${(e.ms / 1000).toFixed(1)} s)`);
  else if (e.kind === "unreachable-retry")
    console.log(`  … ${e.nodes.join(", ")} did not answer; observing again in ${e.ms / 1000} s`);
  else if (e.kind === "settle-retry") console.log(`  … ${e.message}; observing again in ${e.ms / 1000} s`);
  else console.log(`  ✗ ${e.op} at ${e.command}: ${e.error}`);
}

const cond = (c: Condition) =>
  `${c.status === "True" ? "✓" : c.status === "False" ? "✗" : "?"} ${c.type}: ${c.reason} — ${c.message}`;

/** A loaded spec with its inventory file. */
export type Spec = ReturnType<typeof requireClusterSpec>;
type Material = Awaited<ReturnType<ReturnType<typeof session>["prepare"]>>;

/**
 * Runs one observe pass (PKI material, SSH pool, etcd client), hands its result to `use`, closes it.
 * `withPki` lends the PKI (a state backend's read-only copy); default the local PKI directory.
 */
export async function withObservation(
  s: Spec,
  use: (status: Awaited<ReturnType<typeof observe>>, desired: Material["desired"], shell: NodeShell) => unknown,
  scope: "etcd" | "all" = "all",
  withPki?: WithPki,
): Promise<void> {
  // The SSH, etcd and Kubernetes clients load when a command observes, not with every command.
  const [{ session }, { observe }] = await Promise.all([import("../run/session.js"), import("../observe/index.js")]);
  const io = session(s, { inventoryFile: s.file, scope, ...(withPki ? { withPki } : {}) });
  const m = await io.prepare(new Date());
  const pass = io.open(m);
  try {
    await use(await observe(s, m.desired, pass), m.desired, pass.shell);
  } finally {
    await pass.close();
  }
}

/** Flags of `reconcile`. */
interface ReconcileFlags extends StateFlags {
  scope?: string;
  maxPasses?: string;
  wait?: string;
  watch?: boolean;
  interval?: string;
  metricsAddr?: string;
  driftInterval?: string;
  applyInfra?: boolean;
  driftPluginDir?: string;
}

/** Parses the --watch flags before anything runs, so a typo fails before the lock is taken. */
async function watchFlags(
  o: ReconcileFlags,
): Promise<{ intervalMs?: number; metricsAddr?: string; drift: DriftFlags }> {
  const intervalMs = o.interval === undefined ? undefined : parseDuration(o.interval);
  if (intervalMs === 0 || (o.interval !== undefined && intervalMs === undefined))
    throw new UserError(`--interval must be a duration such as 30s or 5m, not ${JSON.stringify(o.interval)}`);
  if (o.metricsAddr !== undefined) {
    const { parseAddr } = await import("../run/metrics.js");
    try {
      parseAddr(o.metricsAddr);
    } catch (err) {
      throw new UserError((err as Error).message);
    }
  }
  return { intervalMs, metricsAddr: o.metricsAddr, drift: driftFlagsOf(o) };
}

/** Reloads the inventory file of a watch; problems come back as lines instead of a throw. */
function reloadSpec(file: string, stackOutputs?: string): Reload<Spec> {
  try {
    return { ok: true, spec: requireClusterSpec(file, { stackOutputs }) };
  } catch (err) {
    if (err instanceof UserError) return { ok: false, problems: [err.message, ...err.details] };
    throw err;
  }
}

/**
 * Names the nodes the last pass could not observe, and those whose kube-proxy runs in another mode
 * than `want` (the inventory's) asks. A node that presented a host key yagura neither
 * issued nor pinned is not merely down: the run is refused (exit 4), so a timer or a person notices.
 */
async function refuseImpostors(status: ClusterStatus | undefined, want?: string): Promise<void> {
  const { HOST_KEY_MISMATCH } = await import("../observe/index.js");
  const down = Object.values(status?.nodes ?? {}).filter((n) => !n.reachable);
  for (const n of down) console.log(`warning: ${n.name} was not observed: ${n.error ?? "unreachable"}`);
  for (const n of Object.values(status?.nodes ?? {}).filter((n) => n.reachable && want)) {
    for (const c of proxyModeConditions(n, want!))
      if (c.status === "False") console.log(`warning: ${n.name}: ${c.message}`);
  }
  const impostors = down.filter((n) => n.error?.startsWith(HOST_KEY_MISMATCH));
  if (impostors.length > 0)
    throw new RefusedError(
      `${impostors.map((n) => n.name).join(", ")} presented a host key yagura neither issued nor pinned; ` +
        `nothing was done on ${impostors.length === 1 ? "it" : "them"}: ${impostors[0]!.error}`,
    );
}

/** Registers reconcile, status and history (plan lives with apply in rebuild.ts). */
export function registerReconcileCommands(program: Command): void {
  const spec = (env: string) =>
    requireClusterSpec(env, { inventoryDir: program.opts().inventoryDir, stackOutputs: program.opts().stackOutputs });

  withStateOptions(program.command("reconcile"))
    .description("observe, decide and run operations until the cluster is as the inventory says")
    .argument("<env>", "environment name or inventory file")
    .option("--scope <scope>", "etcd: stop once etcd is complete; all: the whole ladder", "all")
    .option("--max-passes <n>", "give up after this many passes", "30")
    .option("--wait <seconds>", "wait this long for another reconciler to finish", "0")
    .option("--watch", "keep running: reconcile every interval and when the inventory file changes")
    .option("--interval <duration>", "with --watch: time between passes (default: reconciler.watchInterval)")
    .option("--metrics-addr <host:port>", "with --watch: serve /metrics and /healthz here")
    .option("--drift-interval <duration>", "with --watch: check infrastructure drift this often (default 1h)")
    .option("--apply-infra", "with --watch: run cdktf deploy ENV when a drift check finds changes")
    .option("--drift-plugin-dir <dir>", "with --watch: terraform providers from this directory only")
    .addHelpText(
      "after",
      "\nExamples:\n  yagura reconcile lab --scope etcd\n  yagura reconcile prod --wait 300\n" +
        "  yagura reconcile prod --watch --interval 5m --metrics-addr 127.0.0.1:9464\n\n" +
        "Exit 0 when completed, 3 when an operation failed, 4 when refused (unsafe, or locked).\n" +
        "With --watch: exit 0 after SIGTERM/SIGINT once the op in hand finished; a second signal exits at once.\n" +
        "With --watch on an etcd state, instances stand by until they lead the environment.\n" +
        STATE_HELP,
    )
    .action(async (env: string, o: ReconcileFlags) => {
      const s = spec(env);
      const watch = o.watch ? await watchFlags(o) : undefined;
      if (!o.watch && (o.interval !== undefined || o.metricsAddr !== undefined || anyDriftFlag(o)))
        throw new UserError("--interval, --metrics-addr and the drift flags only apply with --watch");
      const [{ holdEnvironment, stateFromFlags }, { session }, { reconcileLoop }] = await Promise.all([
        import("../state/cli.js"),
        import("../run/session.js"),
        import("../run/loop.js"),
      ]);
      const backend = stateFromFlags(s.env, o);
      const shared = backend.describe !== "local";
      const held = await holdEnvironment(backend, {
        waitMs: intOf("--wait", o.wait, 0) * 1000,
        standBy: Boolean(watch) && shared,
        log: (l) => console.log(l),
      });
      if (!held) return console.log("stopped by a signal while standing by; this instance never led");
      try {
        const { records, withPki } = held.current();
        const io = session(s, { inventoryFile: s.file, scope: scopeOf(o.scope), withPki });
        if (watch) {
          const { watchEnvironment } = await import("../run/watch-env.js");
          await watchEnvironment(s, held.current(), records, {
            ...watch,
            withPki,
            ...(shared ? { regain: held.regain } : {}),
            scope: scopeOf(o.scope),
            maxPasses: intOf("--max-passes", o.maxPasses, 30),
            reload: () => reloadSpec(s.file, program.opts().stackOutputs),
            progress: printEvent,
          });
          return;
        }
        const r = await reconcileLoop(
          {
            spec: s,
            prepare: io.prepare,
            open: io.open,
            records,
            now: () => new Date(),
            sleep: (ms) => new Promise((res) => setTimeout(res, ms)),
            progress: printEvent,
          },
          { scope: scopeOf(o.scope), maxPasses: intOf("--max-passes", o.maxPasses, 30) },
        );
        if (r.outcome === "completed") console.log(`completed after ${r.passes} pass(es), ${r.opsRun} op(s)`);
        await refuseImpostors(r.status, s.inventory.cluster.kubeProxyMode);
        if (r.outcome === "completed") return;
        // Stuck because a node did not answer is a failure of the world (exit 3), not a refusal.
        const unreached = s.nodes.filter((n) => r.status?.nodes[n.name]?.reachable === false);
        if (r.outcome === "stuck" && unreached.length > 0)
          throw new OperationFailedError(
            `${r.phase}: ${r.message}; not reached: ${unreached.map((n) => `${n.name} (${n.address}): ${r.status!.nodes[n.name]!.error ?? "no answer"}`).join("; ")}. ` +
              "Check that each is up and its sshd answers (yagura status ENV), then run reconcile again",
          );
        if (r.outcome === "stuck") throw new RefusedError(`${r.phase}: ${r.message}`);
        throw new OperationFailedError(`${r.phase}: ${r.message}`);
      } finally {
        await held.close();
      }
    });

  withStateOptions(program.command("status"))
    .description("observe the cluster and print conditions per node and component")
    .argument("<env>", "environment name or inventory file")
    .option("--json", "print the status and conditions as JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  yagura status lab\n  yagura status lab --json | jq '.nodes.node1'\n" +
        "\nWith an etcd --state the PKI is read from the store; certificates it lacks are issued in a\n" +
        "private copy and dropped (only the leading reconciler writes the state).\n" +
        STATE_HELP,
    )
    .action(async (env: string, o: StateFlags & { json?: boolean }) => {
      const [
        { stateFromFlags },
        { expectedFingerprints },
        { bootTaintKey },
        { failingComponent, failingComponentLogs },
      ] = await Promise.all([
        import("../state/cli.js"),
        import("../ops/etcd/desired.js"),
        import("../decide/k8s-node-objects.js"),
        import("../ops/log-tail.js"),
      ]);
      const s = spec(env);
      const backend = stateFromFlags(s.env, o);
      await withObservation(
        s,
        async (status, desired, shell) => {
          const conditions = Object.fromEntries(
            s.nodes.map((n) => [n.name, nodeConditions(status.nodes[n.name]!, expectedFingerprints(desired, n.name))]),
          );
          const etcd = etcdConditions(status.etcd);
          const kube = status.kube ? kubeConditions(s, status.kube, bootTaintKey(s)) : undefined;
          for (const n of s.nodes) {
            conditions[n.name]!.push(...(kube?.nodes[n.name] ?? []));
            conditions[n.name]!.push(...proxyModeConditions(status.nodes[n.name]!, s.inventory.cluster.kubeProxyMode));
          }
          const logs = await failingComponentLogs(s, conditions, shell);
          if (o.json) {
            const all = { nodes: conditions, etcd, ...(kube ? { kubernetes: kube.cluster } : {}) };
            console.log(JSON.stringify({ status, conditions: all, logs }, null, 2));
            return;
          }
          for (const n of s.nodes) {
            console.log(`${n.name} (${n.role}, ${n.address})`);
            for (const c of conditions[n.name]!) {
              console.log(`  ${cond(c)}`);
              const component = failingComponent(c);
              for (const l of (component && logs[n.name]?.[component]) || []) console.log(`      | ${l}`);
            }
          }
          console.log("etcd");
          for (const c of etcd) console.log(`  ${cond(c)}`);
          if (kube) console.log("kubernetes");
          for (const c of kube?.cluster ?? []) console.log(`  ${cond(c)}`);
        },
        "all",
        backend.readPki,
      ).finally(() => backend.close());
    });

  withStateOptions(program.command("history"))
    .description("print the op records of an environment, newest last")
    .argument("<env>", "environment name or inventory file")
    .option("--limit <n>", "only the last N ops", "20")
    .option("--json", "one JSON record per line")
    .addHelpText(
      "after",
      "\nExamples:\n  yagura history lab\n  yagura history lab --limit 5 --json\n" +
        "  yagura history prod --state etcd://10.0.0.5:2379 --state-ca ca.crt --state-cert me.crt --state-key me.key\n" +
        STATE_HELP,
    )
    .action(async (env: string, o: StateFlags & { limit?: string; json?: boolean }) => {
      const { stateFromFlags } = await import("../state/cli.js");
      const s = spec(env);
      const backend = stateFromFlags(s.env, o);
      const all = await backend.readRecords().finally(() => backend.close());
      const recs = all.slice(-intOf("--limit", o.limit, 20));
      for (const r of recs) {
        if (o.json) console.log(JSON.stringify(r));
        else {
          const ms = r.endedAt ? `${((Date.parse(r.endedAt) - Date.parse(r.startedAt)) / 1000).toFixed(1)} s` : "";
          console.log(
            `${r.startedAt} ${r.status.padEnd(9)} ${r.op} [${r.targets.join(",")}] ${ms}${r.holder ? ` by ${r.holder}` : ""}${r.error ? ` — ${r.error}` : ""}`,
          );
        }
      }
    });
}
