/** Shared pieces of the lab tests: a spec from inventory text, host probes, and the skip reason. */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { parseInventory } from "../../src/inventory/load.js";
import { clusterSpec, type ClusterSpec } from "../../src/cluster/spec.js";
import { labPrerequisites } from "../../src/lab/index.js";

/** Why lab tests cannot run here (not root, a package missing), or undefined. */
export function labSkipReason(): string | undefined {
  const p = labPrerequisites();
  return p.length > 0 ? `lab tests skipped: ${p.join("; ")}` : undefined;
}

/** A ClusterSpec from inventory YAML (validated like a file); `env` names the environment. */
export function specFrom(env: string, yaml: string): ClusterSpec {
  const r = parseInventory(yaml, `${env}.yaml`);
  if (!r.ok) throw new Error(r.problems.map((p) => `${p.path}: ${p.message}`).join("\n"));
  return clusterSpec(r.env, r.inventory);
}

/** Inventory text for a lab with the given nodes on its own bridge and subnet. */
export function labInventory(
  bridge: string,
  cidr: string,
  nodes: readonly [name: string, address: string, role: string][],
): string {
  return [
    "cluster: { name: labtest, kubernetesVersion: '1.33.5' }",
    `lab: { bridge: ${bridge}, cidr: ${cidr} }`,
    "staticNodes:",
    ...nodes.map(([n, a, r]) => `  - { name: ${n}, address: ${a}, role: ${r} }`),
    "networking: { calico: { routeReflectors: { enabled: false } } }",
    "",
  ].join("\n");
}

/** Host netns names starting with `prefix`. */
export function netnsWith(prefix: string): string[] {
  return existsSync("/run/netns") ? readdirSync("/run/netns").filter((n) => n.startsWith(prefix)) : [];
}

/** Host interfaces named `name` or starting with `prefix`. */
export function linksWith(prefix: string, name: string): string[] {
  return readdirSync("/sys/class/net").filter((l) => l.startsWith(prefix) || l === name);
}

/** Mount points in our mount namespace at or under `dir`. */
export function mountsUnder(dir: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4] ?? "")
    .filter((m) => m === dir || m.startsWith(dir + "/"));
}

/** True while a process with this pid exists (any command). */
export function pidAlive(pid: number | undefined): boolean {
  return pid !== undefined && existsSync(`/proc/${pid}`);
}
