/**
 * Where each Kubernetes binary comes from and how a node proves it has the right one. Pure: the
 * environment is passed in, and the check is a POSIX sh command the caller runs over SSH.
 */
import { posix } from "node:path";
import { shq } from "../infra/shell.js";
import { COMPONENT_BINARIES, type Inventory } from "../inventory/schema.js";

/** One of the binaries yagura installs. */
export type Component = (typeof COMPONENT_BINARIES)[number];

/** How a binary reaches the node. */
export type ArtifactOrigin =
  | { readonly kind: "image" }
  | { readonly kind: "local"; readonly path: string; readonly via: "YAGURA_KUBE_BIN_DIR" | "artifacts.localDir" }
  | { readonly kind: "mirror"; readonly url: string };

/** One binary: its place on the node, its expected checksum and its origin. */
export interface ArtifactPlan {
  readonly name: Component;
  readonly version: string;
  readonly sha256: string;
  readonly nodePath: string;
  readonly origin: ArtifactOrigin;
}

/** The environment variables artifact planning reads (passed in so planning stays pure). */
export interface ArtifactEnv {
  readonly YAGURA_KUBE_BIN_DIR?: string;
}

/** Plans for every binary, or the problems that prevent planning them (all at once). */
export type ArtifactPlanResult =
  | { readonly ok: true; readonly plans: readonly ArtifactPlan[] }
  | { readonly ok: false; readonly problems: readonly string[] };

/** Plans every component binary from the inventory's artifacts section. */
export function planArtifacts(a: Inventory["artifacts"], env: ArtifactEnv): ArtifactPlanResult {
  const problems: string[] = [];
  const plans: ArtifactPlan[] = [];
  const envDir =
    env.YAGURA_KUBE_BIN_DIR !== undefined && env.YAGURA_KUBE_BIN_DIR !== "" ? env.YAGURA_KUBE_BIN_DIR : undefined;
  const localDir = envDir ?? a.localDir;
  if (a.source === "local" && localDir === undefined) {
    problems.push(
      "artifacts.source is local but neither YAGURA_KUBE_BIN_DIR nor artifacts.localDir names the directory holding the binaries",
    );
  }
  if (a.source === "mirror" && a.mirrorUrl === undefined) {
    problems.push("artifacts.source is mirror but artifacts.mirrorUrl is not set");
  }
  for (const name of COMPONENT_BINARIES) {
    const b = a.binaries[name];
    if (!b) {
      problems.push(`artifacts.binaries.${name} is missing: add its version and sha256 (the output of sha256sum)`);
      continue;
    }
    if (!/^[0-9a-f]{64}$/.test(b.sha256)) {
      problems.push(`artifacts.binaries.${name}.sha256 must be 64 lower-case hex digits`);
      continue;
    }
    let origin: ArtifactOrigin;
    if (a.source === "image") origin = { kind: "image" };
    else if (a.source === "local") {
      if (localDir === undefined) continue;
      origin = {
        kind: "local",
        path: posix.join(localDir, name),
        via: envDir ? "YAGURA_KUBE_BIN_DIR" : "artifacts.localDir",
      };
    } else {
      if (a.mirrorUrl === undefined) continue;
      origin = { kind: "mirror", url: `${a.mirrorUrl.replace(/\/+$/, "")}/${b.version}/${name}` };
    }
    plans.push({ name, version: b.version, sha256: b.sha256, nodePath: posix.join(a.installDir, name), origin });
  }
  return problems.length ? { ok: false, problems } : { ok: true, plans };
}

/**
 * sh that prints exactly one line: `ok`, `missing`, or `mismatch <actual sha256>`, and always exits 0
 * (the verdict is data, not a failure of the command).
 */
export function artifactCheckCommand(plan: Pick<ArtifactPlan, "nodePath" | "sha256">): string {
  const f = shq(plan.nodePath);
  return (
    `if [ ! -f ${f} ]; then echo missing; ` +
    `else s=$(sha256sum ${f} | cut -d ' ' -f 1); ` +
    `if [ "$s" = ${shq(plan.sha256)} ]; then echo ok; else echo "mismatch $s"; fi; fi`
  );
}

/** What a node reported for one binary. */
export type ArtifactVerdict =
  { readonly state: "ok" } | { readonly state: "missing" } | { readonly state: "mismatch"; readonly actual: string };

/** Parses the line printed by `artifactCheckCommand`; anything else is a bug or a broken node shell. */
export function parseArtifactCheck(output: string): ArtifactVerdict {
  const line = output.trim();
  if (line === "ok" || line === "missing") return { state: line };
  const m = /^mismatch ([0-9a-f]{64})$/.exec(line);
  if (m) return { state: "mismatch", actual: m[1]! };
  throw new Error(
    `unexpected artifact check output ${JSON.stringify(line)} (expected ok, missing or mismatch <sha256>)`,
  );
}

function remedy(plan: ArtifactPlan): string {
  const o = plan.origin;
  if (o.kind === "image")
    return `bake ${plan.name} ${plan.version} into the node image at ${plan.nodePath}, or change artifacts.source to local or mirror`;
  if (o.kind === "local") return `put ${plan.name} ${plan.version} at ${o.path} (set by ${o.via})`;
  return `publish ${plan.name} ${plan.version} at ${o.url}, or change artifacts.mirrorUrl`;
}

/** The message that stops a node's ladder for a missing or wrong binary; undefined when it is fine. */
export function artifactProblem(node: string, plan: ArtifactPlan, v: ArtifactVerdict): string | undefined {
  if (v.state === "ok") return undefined;
  const what =
    v.state === "missing"
      ? `${plan.nodePath} is missing on ${node}`
      : `${plan.nodePath} on ${node} has sha256 ${v.actual}`;
  return `${what}; expected ${plan.name} ${plan.version} with sha256 ${plan.sha256}: ${remedy(plan)}, or correct artifacts.binaries.${plan.name}.sha256`;
}
