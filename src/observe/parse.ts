/** Turns the observe script's output (a JSON line, then sha256sum's lines) into a NodeStatus, checking its shape. */
import type { NodeStatus, ServiceStatus } from "../cluster/status.js";
import { parseArtifactCheck, type ArtifactVerdict } from "../k8s/artifacts.js";
import { describeMissing } from "../ops/node/prerequisites.js";
import type { ObservePlan } from "./script.js";

interface Raw {
  missing: number[];
  services: { state: { present: boolean; running: boolean; pid: number }; fingerprint: string }[];
  etcdData: { present: boolean; hasMember: boolean };
  artifacts?: string[];
  bootGate?: boolean;
  health?: string[];
  routes?: string[];
  proxyMode?: string;
}

/** A verdict line; anything unreadable counts as missing, so the artifact rung reinstalls or reports it. */
function verdict(line: string): ArtifactVerdict {
  try {
    return parseArtifactCheck(line);
  } catch {
    return { state: "missing" };
  }
}

/** The Kubernetes parts of a report (artifacts, boot gate, health), present only when planned. */
function k8sParts(node: string, plan: ObservePlan, raw: Raw, stdout: string): Partial<NodeStatus> {
  const out: { -readonly [K in keyof NodeStatus]?: NodeStatus[K] } = {};
  if (plan.artifacts) {
    if (!Array.isArray(raw.artifacts) || raw.artifacts.length !== plan.artifacts.length)
      throw new Error(`${node}: observe output does not match its plan (artifacts): ${stdout.slice(0, 300)}`);
    out.artifacts = Object.fromEntries(plan.artifacts.map((a, i) => [a.name, verdict(raw.artifacts![i]!)]));
  }
  if (plan.bootGate) out.bootGateOpen = raw.bootGate === true;
  if (plan.probes) {
    if (!Array.isArray(raw.health) || raw.health.length !== plan.probes.length)
      throw new Error(`${node}: observe output does not match its plan (health): ${stdout.slice(0, 300)}`);
    const health: Record<string, boolean> = {};
    // "" means the node has no curl: the component's health is unknown, so it gets no entry.
    plan.probes.forEach((p, i) => {
      if (raw.health![i] === "ok" || raw.health![i] === "fail") health[p.component] = raw.health![i] === "ok";
    });
    out.health = health;
  }
  if (plan.routes) {
    if (!Array.isArray(raw.routes))
      throw new Error(`${node}: observe output does not match its plan (routes): ${stdout.slice(0, 300)}`);
    out.routes = raw.routes.map((r) => r.split(" ")).map(([dst, via]) => ({ dst: dst!, via: via ?? "" }));
  }
  if (plan.proxyModeUrl && raw.proxyMode) out.proxyMode = raw.proxyMode;
  return out;
}

/** sha256sum's lines (`<digest>  <path>`, or ` *` in binary mode) as path → digest. */
function digestLines(lines: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const l of lines) {
    const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(l);
    if (m) out.set(m[2]!, m[1]!);
  }
  return out;
}

/** Parses one node's report; throws with the output when it is not what the script prints. */
export function parseObservation(node: string, plan: ObservePlan, stdout: string): NodeStatus {
  const [first = "", ...rest] = stdout.split("\n");
  let raw: Raw;
  try {
    raw = JSON.parse(first) as Raw;
  } catch {
    throw new Error(`${node}: observe printed something that is not JSON: ${stdout.slice(0, 300)}`);
  }
  if (!Array.isArray(raw.missing) || raw.services?.length !== plan.components.length) {
    throw new Error(`${node}: observe output does not match its plan: ${stdout.slice(0, 300)}`);
  }
  // A file sha256sum could not read has no line: it counts as absent, so its rung writes it.
  const digests = digestLines(rest);
  const files: Record<string, string> = {};
  for (const p of plan.files) {
    const h = digests.get(p);
    if (h) files[p] = h;
  }
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
  const lacking = raw.missing.map((i) => plan.prerequisites[i]).filter((p) => p !== undefined);
  // What only Kubernetes needs (the runtime, CNI plugins) stops the Kubernetes rungs, never etcd's.
  const missing = lacking.filter((p) => !p.kubernetes).map(describeMissing);
  const kubernetesMissing = lacking.filter((p) => p.kubernetes).map(describeMissing);
  return {
    name: node,
    reachable: true,
    prerequisites: { ok: missing.length === 0, missing, ...(kubernetesMissing.length ? { kubernetesMissing } : {}) },
    services,
    files,
    etcdData: { present: raw.etcdData.present === true, hasMember: raw.etcdData.hasMember === true },
    ...k8sParts(node, plan, raw, stdout),
  };
}
