/** Picks the supervisor for a node: runit on lab nodes (no systemd there), systemd elsewhere. */
import type { NodeSpec } from "../cluster/spec.js";
import { runitSupervisor } from "./runit.js";
import { systemdSupervisor } from "./systemd.js";
import type { Supervisor } from "./types.js";

export type { ManagedFile, ServiceDef, Supervisor } from "./types.js";

const runit = runitSupervisor();
const systemd = systemdSupervisor();

/** The supervisor that manages services on this node. */
export function supervisorFor(node: Pick<NodeSpec, "kind">): Supervisor {
  return node.kind === "lab" ? runit : systemd;
}
