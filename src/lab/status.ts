/**
 * `lab status`: per node, whether its netns is there, its PID 1 alive, its sshd answering (a real
 * login with the pinned host key) and what runit supervises. Read-only.
 */
import { labContext, type LabOptions } from "./context.js";
import { mapLimit } from "./exec.js";
import { netnsExists } from "./node.js";
import { isOurs, PID1_NAMES } from "./procs.js";
import { routedViaBridge, sshExec } from "./ssh.js";
import { readState } from "./state.js";

/** One runit service on a node, as `sv status` reports it. */
export interface ServiceStatus {
  readonly name: string;
  /** "run", "down", "finish", or "fail" when runsv is not answering. */
  readonly state: string;
  readonly pid?: number;
  readonly line: string;
}

/** The condition of one lab node. */
export interface LabNodeStatus {
  readonly name: string;
  readonly address: string;
  readonly netns: boolean;
  readonly pid1?: number;
  readonly pid1Alive: boolean;
  readonly sshd: boolean;
  /** Why ssh failed, when it did. */
  readonly sshError?: string;
  readonly services: readonly ServiceStatus[];
}

/** The condition of a lab; `up` is false when there is no lab for the env. */
export interface LabStatus {
  readonly env: string;
  readonly up: boolean;
  readonly bridge?: string;
  readonly nodes: readonly LabNodeStatus[];
}

// One round trip: every service directory runit scans, with its status line.
const SERVICES = 'for s in /etc/service/*; do [ -d "$s" ] && sv status "$s"; done; true';

/** Parses `sv status` output (`run: /etc/service/sshd: (pid 12) 5s; …`). */
export function parseSvStatus(out: string): ServiceStatus[] {
  return out
    .split("\n")
    .filter((l) => l.trim())
    .map((line) => {
      const m = /^(\w+): ([^:]+):(?: \(pid (\d+)\))?/.exec(line);
      const state = m?.[1] === "warning" ? "fail" : (m?.[1] ?? "unknown");
      const name = (m?.[2] ?? line).replace(/^.*\//, "");
      return { name, state, pid: m?.[3] ? Number(m[3]) : undefined, line };
    });
}

/** Reports on every node of the lab of `env`. */
export async function labStatus(env: string, opts: LabOptions = {}): Promise<LabStatus> {
  const ctx = labContext(env, opts);
  const state = readState(ctx.labDir);
  if (!state) return { env, up: false, nodes: [] };
  const nodes = await mapLimit(Object.values(state.nodes), 8, async (r): Promise<LabNodeStatus> => {
    const alive = isOurs(r.pid1, PID1_NAMES);
    const routed = state.bridge ? await routedViaBridge(r.address, state.bridge.name) : false;
    const res =
      alive && routed
        ? await sshExec(ctx.paths.sshKey, ctx.paths.knownHosts, r.address, SERVICES, { timeoutMs: 10_000 })
        : undefined;
    const sshd = res?.code === 0;
    const why = !alive
      ? "PID 1 is not running"
      : !routed
        ? `no route to ${r.address} through bridge ${state.bridge?.name} (run lab up)`
        : undefined;
    return {
      name: r.name,
      address: r.address,
      netns: netnsExists(r.netns),
      pid1: r.pid1,
      pid1Alive: alive,
      sshd,
      sshError: res && !sshd ? res.stderr.trim().split("\n").pop() : why,
      services: sshd ? parseSvStatus(res!.stdout) : [],
    };
  });
  return { env, up: true, bridge: state.bridge?.name, nodes };
}
