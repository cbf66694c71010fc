/**
 * The last lines of a component's log, read from its node when something it should have done did
 * not happen: a wait that timed out says what the kubelet or containerd last logged instead of
 * "check their logs". Reading a log never fails the caller: a node that does not answer gives none.
 */
import type { ClusterSpec } from "../cluster/spec.js";
import type { Condition } from "../cluster/status.js";
import type { NodeShell } from "../infra/types.js";
import { supervisorFor } from "../supervisor/index.js";
import type { Supervisor } from "../supervisor/types.js";
import type { OpContext } from "./types.js";

/** Lines of each log to show. */
export const LOG_TAIL_LINES = 5;
/** Characters kept of one log line (kubelet lines can carry whole objects). */
const LINE_CHARS = 300;

/** One component's log on one node. */
export interface LogSource {
  readonly node: string;
  readonly component: string;
  readonly supervisor: Supervisor;
}

/** The last `lines` lines of each source's log (one SSH round trip per source, all at once). */
export async function readLogTails(
  shell: NodeShell,
  sources: readonly LogSource[],
  lines = LOG_TAIL_LINES,
): Promise<{ source: LogSource; lines: string[] }[]> {
  return Promise.all(
    sources.map(async (source) => {
      let out = "";
      try {
        const r = await shell.exec(source.node, "sh -s", {
          stdin: source.supervisor.logTailScript(source.component, lines),
        });
        if (r.code === 0) out = r.stdout;
      } catch {
        // unreachable: no lines
      }
      return {
        source,
        lines: out
          .split("\n")
          .map((l) => l.trimEnd())
          .filter(Boolean)
          .map((l) => (l.length > LINE_CHARS ? `${l.slice(0, LINE_CHARS)}…` : l)),
      };
    }),
  );
}

/** The tails as indented text under a `node component:` heading each; "" when every log was empty. */
export function formatLogTails(tails: readonly { source: LogSource; lines: readonly string[] }[]): string {
  return tails
    .filter((t) => t.lines.length)
    .map((t) => [`  last lines of ${t.source.component} on ${t.source.node}:`, ...t.lines.map((l) => `    ${l}`)])
    .flat()
    .join("\n");
}

/**
 * Runs `fn`; when it fails, its error message gains the last log lines of `sources()` (evaluated
 * then, so the sources can depend on what the wait saw last).
 */
export async function withLogTails<T>(
  ctx: OpContext,
  sources: () => readonly LogSource[],
  fn: () => Promise<T>,
): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const list = sources();
    if (err instanceof Error && list.length) {
      // The wait's own error stands whatever happens to the logs (a context without SSH included).
      const text = await Promise.resolve()
        .then(() => readLogTails(ctx.shell, list))
        .then(formatLogTails, () => "");
      if (text) err.message += `\n${text}`;
    }
    throw err;
  }
}

/** The component a condition reports stopped or failing its health check (`<component>Ready`), if any. */
export function failingComponent(c: Condition): string | undefined {
  if (c.status !== "False" || (c.reason !== "Stopped" && c.reason !== "Unhealthy")) return undefined;
  return c.type.endsWith("Ready") ? c.type.slice(0, -"Ready".length) : undefined;
}

/** For `status`: the last log lines of every component a node's conditions report failing, by node and component. */
export async function failingComponentLogs(
  spec: ClusterSpec,
  conditions: Readonly<Record<string, readonly Condition[]>>,
  shell: NodeShell,
): Promise<Record<string, Record<string, string[]>>> {
  const sources = spec.nodes.flatMap((n) =>
    (conditions[n.name] ?? []).flatMap((c) => {
      const component = failingComponent(c);
      return component ? [{ node: n.name, component, supervisor: supervisorFor(n) }] : [];
    }),
  );
  const out: Record<string, Record<string, string[]>> = {};
  for (const t of await readLogTails(shell, sources)) {
    if (t.lines.length) (out[t.source.node] ??= {})[t.source.component] = t.lines;
  }
  return out;
}
