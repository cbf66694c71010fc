/** Turns the observe script's JSON into a NodeStatus, checking its shape. */
import type { NodeStatus, ServiceStatus } from "../cluster/status.js";
import { describeMissing } from "../ops/node/prerequisites.js";
import type { ObservePlan } from "./script.js";

interface Raw {
  missing: number[];
  files: string[];
  services: { state: { present: boolean; running: boolean; pid: number }; fingerprint: string }[];
  etcdData: { present: boolean; hasMember: boolean };
}

/** Parses one node's report; throws with the output when it is not what the script prints. */
export function parseObservation(node: string, plan: ObservePlan, stdout: string): NodeStatus {
  let raw: Raw;
  try {
    raw = JSON.parse(stdout) as Raw;
  } catch {
    throw new Error(`${node}: observe printed something that is not JSON: ${stdout.slice(0, 300)}`);
  }
  if (
    !Array.isArray(raw.files) ||
    raw.files.length !== plan.files.length ||
    raw.services?.length !== plan.components.length
  ) {
    throw new Error(`${node}: observe output does not match its plan: ${stdout.slice(0, 300)}`);
  }
  const files: Record<string, string> = {};
  plan.files.forEach((p, i) => {
    if (/^[0-9a-f]{64}$/.test(raw.files[i]!)) files[p] = raw.files[i]!;
  });
  const services: Record<string, ServiceStatus> = {};
  plan.components.forEach((c, i) => {
    const s = raw.services[i]!;
    services[c] = {
      present: s.state.present === true,
      running: s.state.running === true,
      ...(s.state.pid > 0 ? { pid: s.state.pid } : {}),
      ...(/^[0-9a-f]{64}$/.test(s.fingerprint) ? { fingerprint: s.fingerprint } : {}),
    };
  });
  const missing = raw.missing
    .map((i) => plan.prerequisites[i])
    .filter((p) => p !== undefined)
    .map(describeMissing);
  return {
    name: node,
    reachable: true,
    prerequisites: { ok: missing.length === 0, missing },
    services,
    files,
    etcdData: { present: raw.etcdData.present === true, hasMember: raw.etcdData.hasMember === true },
  };
}
