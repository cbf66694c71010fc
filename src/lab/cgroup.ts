/**
 * Per-node cgroup subtrees: `<our cgroup>/<lab group>/<node>` in every hierarchy we belong to (v1
 * controllers, named hierarchies and the unified one), so a node's cgroup namespace is rooted there
 * and a kubelet's /kubepods lands inside its own node.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const CG = "/sys/fs/cgroup";

/** The directory of our own cgroup in each hierarchy, from /proc/self/cgroup. */
export function ownCgroupDirs(): string[] {
  const out: string[] = [];
  for (const line of readFileSync("/proc/self/cgroup", "utf8").split("\n")) {
    if (!line) continue;
    const [, ctrls = "", path = "/"] = line.split(":");
    let base: string;
    if (ctrls === "") base = existsSync(join(CG, "unified")) ? join(CG, "unified") : CG;
    else base = join(CG, ctrls.startsWith("name=") ? ctrls.slice(5) : ctrls);
    if (!existsSync(base)) continue;
    out.push(join(base, path));
  }
  return out;
}

/** cpuset needs cpus and mems copied down before a task can join a new cpuset cgroup. */
function inheritCpuset(parent: string, child: string): void {
  for (const f of ["cpuset.cpus", "cpuset.mems"]) {
    const src = join(parent, f);
    if (!existsSync(src)) continue;
    const v = readFileSync(src, "utf8").trim();
    if (v && readFileSync(join(child, f), "utf8").trim() === "") writeFileSync(join(child, f), v);
  }
}

/** Creates `<own>/<group>` in every hierarchy; returns those dirs. */
export function ensureGroupDirs(group: string): string[] {
  return ownCgroupDirs().map((own) => {
    const dir = join(own, group);
    mkdirSync(dir, { recursive: true });
    inheritCpuset(own, dir);
    return dir;
  });
}

/** Creates the node's dir under each group dir; returns them. */
export function ensureNodeDirs(groupDirs: readonly string[], node: string): string[] {
  return groupDirs.map((g) => {
    const dir = join(g, node);
    mkdirSync(dir, { recursive: true });
    inheritCpuset(g, dir);
    return dir;
  });
}

/** Pids in a cgroup dir and all its descendants. */
export function cgroupPids(dir: string): number[] {
  if (!existsSync(dir)) return [];
  const pids = readFileSync(join(dir, "cgroup.procs"), "utf8").split("\n").filter(Boolean).map(Number);
  for (const e of readdirSync(dir)) {
    const sub = join(dir, e);
    if (statSync(sub).isDirectory()) pids.push(...cgroupPids(sub));
  }
  return pids;
}

/**
 * Removes a cgroup dir and every dir below it (what a kubelet created inside the node), deepest
 * first. Only directories are removed; the kernel refuses while a task is still inside. Returns
 * the dirs it could not remove.
 */
export function removeCgroupTree(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const left: string[] = [];
  for (const e of readdirSync(dir)) {
    const sub = join(dir, e);
    let isDir = false;
    try {
      isDir = statSync(sub).isDirectory();
    } catch {
      continue;
    }
    if (isDir) left.push(...removeCgroupTree(sub));
  }
  try {
    rmdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") left.push(dir);
  }
  return left;
}
