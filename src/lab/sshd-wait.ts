/**
 * `lab up`'s wait until every node's sshd sends its banner, built not to be the load it waits out:
 * each node is watched through /proc first (is its PID 1 alive, has runit started sshd, does the
 * node's netns listen on port 22) and gets a TCP probe only once it listens; at most one probe per
 * node is in flight, a few for the whole lab, each allowed seconds for the banner (sshd forks and
 * re-executes itself per connection), with exponential backoff and jitter between looks. A node
 * that still runs keeps being waited for, up to a generous bound; a node whose PID 1 is gone, or
 * whose sshd keeps exiting, fails the wait at once with its console.
 */
import { setMaxListeners } from "node:events";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { OperationFailedError } from "../cli/errors.js";
import { createLimiter } from "../infra/limit.js";
import { backoff, loadSummary, type BackoffOptions } from "./backoff.js";
import { consoleTail } from "./node.js";
import { children, comm, isOurs, PID1_NAMES } from "./procs.js";
import { probeBanner, type BannerResult } from "./ssh.js";

/** The node as the wait sees it. */
export interface WaitNode {
  readonly name: string;
  readonly address: string;
  /** Host pid of the node's PID 1 (runsvdir). */
  readonly pid1: number;
  /** The node's tree; its console is `<dir>/console.log`. */
  readonly dir: string;
}

/** What the wait looks at; the real one reads /proc and connects, tests fake it. */
export interface NodeWatch {
  pid1Alive(n: WaitNode): boolean;
  /** sshd's listener process under the node's runit (if any) and whether the node listens on port 22. */
  sshd(n: WaitNode): { readonly pid?: number; readonly listening: boolean };
  banner(n: WaitNode, timeoutMs: number, signal: AbortSignal): Promise<BannerResult>;
  /** The last lines of the node's console. */
  console(n: WaitNode): string;
}

/** How long and how hard to wait. */
export interface SshdWaitOptions {
  /** The lab's environment, for messages. */
  readonly env: string;
  /** Longest wait for a node whose PID 1 still runs. */
  readonly limitMs: number;
  /** How long one probe waits for the banner. @default 10000 */
  readonly bannerTimeoutMs?: number;
  /** Probes in flight for the whole lab (each costs its sshd a fork and exec). @default 16 */
  readonly maxProbes?: number;
  /** Times a node's sshd may start without ever listening before the node is given up. @default 4 */
  readonly maxSshdStarts?: number;
  /** Delays between looks at one node. @default 100 ms growing to 2 s */
  readonly backoff?: BackoffOptions;
  /** A line now and then for people while nodes are pending. */
  readonly progress?: (line: string) => void;
  /** @default every 10 s */
  readonly progressEveryMs?: number;
  readonly watch?: NodeWatch;
  readonly now?: () => number;
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

type Outcome =
  | { readonly kind: "ok" }
  | { readonly kind: "dead"; readonly why: string }
  | { readonly kind: "timeout"; readonly seen: string }
  | { readonly kind: "abandoned" };

/** True when a /proc/<pid>/net/tcp table has a socket listening on `port`. */
export function listensOn(table: string, port: number): boolean {
  return table
    .split("\n")
    .slice(1)
    .some((line) => {
      const f = line.trim().split(/\s+/);
      return f[3] === "0A" && parseInt(f[1]?.split(":")[1] ?? "", 16) === port;
    });
}

function netnsListens(pid: number, port: number): boolean {
  for (const t of ["tcp", "tcp6"]) {
    try {
      if (listensOn(readFileSync(`/proc/${pid}/net/${t}`, "utf8"), port)) return true;
    } catch {
      // the process is gone, or the netns has no IPv6: nothing listens there
    }
  }
  return false;
}

/** The real watch: /proc of the host, a TCP connection for the banner. */
export const hostWatch: NodeWatch = {
  pid1Alive: (n) => isOurs(n.pid1, PID1_NAMES),
  sshd: (n) => {
    // runsvdir → runsv sshd → sshd (its run script execs it); connections are the listener's children.
    const pid = children(n.pid1)
      .filter((c) => comm(c) === "runsv")
      .flatMap(children)
      .find((c) => comm(c) === "sshd");
    return { pid, listening: netnsListens(n.pid1, 22) };
  },
  banner: (n, timeoutMs, signal) => probeBanner(n.address, timeoutMs, signal),
  console: (n) => consoleTail(n.dir),
};

const abortableSleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const wake = () => {
      clearTimeout(t);
      signal.removeEventListener("abort", wake);
      resolve();
    };
    const t = setTimeout(wake, ms);
    signal.addEventListener("abort", wake);
  });

/** Waits until every node's sshd sends its banner; see the module comment. */
export async function awaitSshd(nodes: readonly WaitNode[], o: SshdWaitOptions): Promise<void> {
  const watch = o.watch ?? hostWatch;
  const now = o.now ?? Date.now;
  const sleep = o.sleep ?? abortableSleep;
  const bannerMs = o.bannerTimeoutMs ?? 10_000;
  const maxStarts = o.maxSshdStarts ?? 4;
  const probeSlot = createLimiter(o.maxProbes ?? 16);
  const stop = new AbortController();
  // One sleep and one probe per node may listen at once: not a leak.
  setMaxListeners(2 * nodes.length + 16, stop.signal);
  const start = now();
  const deadline = start + o.limitMs;
  let answered = 0;

  async function watchNode(n: WaitNode): Promise<Outcome> {
    const next = backoff({ initialMs: 100, maxMs: 2000, ...o.backoff });
    const sshdPids = new Set<number>();
    let seen = "PID 1 runs; runit has not started sshd yet";
    for (;;) {
      if (stop.signal.aborted) return { kind: "abandoned" };
      if (!watch.pid1Alive(n)) return { kind: "dead", why: `its PID 1 (runsvdir, pid ${n.pid1}) is gone` };
      const s = watch.sshd(n);
      if (s.pid !== undefined) sshdPids.add(s.pid);
      if (s.listening) {
        const r = await probeSlot(() =>
          stop.signal.aborted
            ? Promise.resolve({ ok: false, why: "abandoned" })
            : watch.banner(n, bannerMs, stop.signal),
        );
        if (r.ok) return { kind: "ok" };
        seen = `sshd${s.pid ? ` (pid ${s.pid})` : ""} listens on port 22; last probe: ${r.why}`;
      } else if (sshdPids.size >= maxStarts) {
        return {
          kind: "dead",
          why: `its sshd keeps exiting (runit started it ${sshdPids.size} times and it never listened on port 22)`,
        };
      } else if (s.pid !== undefined) seen = `sshd (pid ${s.pid}) runs but does not listen on port 22 yet`;
      if (now() >= deadline) return { kind: "timeout", seen };
      await sleep(next(), stop.signal);
    }
  }

  const ticker =
    o.progress &&
    setInterval(
      () => o.progress!(`  waiting for sshd: ${answered} of ${nodes.length} answer (${loadSummary()})`),
      o.progressEveryMs ?? 10_000,
    );
  let outcomes: Outcome[];
  try {
    // A dead node stops every other watch at once; all of them settle before this returns, so no
    // probe is still connecting when the caller tears the lab down.
    outcomes = await Promise.all(
      nodes.map(async (n) => {
        const r = await watchNode(n);
        if (r.kind === "ok") answered++;
        if (r.kind === "dead") stop.abort();
        return r;
      }),
    );
  } finally {
    if (ticker) clearInterval(ticker);
  }
  const dead = nodes.flatMap((n, i) => (outcomes[i]!.kind === "dead" ? [[n, outcomes[i]] as const] : []));
  if (dead.length > 0) {
    const [n, r] = dead[0]!;
    const others = dead.slice(1).map(([m]) => m.name);
    throw new OperationFailedError(
      [
        `lab ${o.env}: node ${n.name} (${n.address}) stopped while starting: ${(r as { why: string }).why}` +
          (others.length ? ` (and ${others.join(", ")})` : ""),
        `  its console (${join(n.dir, "console.log")}) ends with:`,
        `    ${watch.console(n).split("\n").join("\n    ")}`,
        `  try: \`yagura lab up ${o.env}\` again boots it from its own tree; if it stops again, its console says why`,
      ].join("\n"),
    );
  }
  const late = nodes.filter((_, i) => outcomes[i]!.kind === "timeout");
  if (late.length > 0) {
    const seen = (n: WaitNode) => (outcomes[nodes.indexOf(n)] as { seen: string }).seen;
    throw new OperationFailedError(
      [
        `lab ${o.env}: sshd did not answer on ${late.length} of ${nodes.length} node(s) within ${Math.round((now() - start) / 1000)} s, though their PID 1 still runs (${loadSummary()}):`,
        ...late.slice(0, 10).map((n) => `  ${n.name} (${n.address}): ${seen(n)}`),
        ...(late.length > 10 ? [`  … and ${late.length - 10} more`] : []),
        `  try: \`yagura lab up ${o.env}\` again once the machine is less busy (nodes that answer are kept), or run fewer nodes;`,
        `  \`yagura lab status ${o.env}\` shows each node, and each node's console is in its dir (${join(late[0]!.dir, "console.log")})`,
      ].join("\n"),
    );
  }
}
