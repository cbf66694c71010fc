/**
 * Where each Kubernetes binary comes from and how a node proves it has the right one. Pure: the
 * environment and the published release checksums are passed in, and the check is a POSIX sh
 * command the caller runs over SSH.
 */
import { posix } from "node:path";
import { shq } from "../infra/shell.js";
import { parseDuration } from "../inventory/rules/syntax.js";
import { artifactSource, COMPONENT_BINARIES, DEFAULT_RELEASE_URL, type Inventory } from "../inventory/schema.js";
import { releaseFile } from "./release.js";

/** One of the binaries yagura installs. */
export type Component = (typeof COMPONENT_BINARIES)[number];

/** How a binary reaches the node. */
export type ArtifactOrigin =
  | { readonly kind: "image" }
  | { readonly kind: "local"; readonly path: string; readonly via: "YAGURA_KUBE_BIN_DIR" | "artifacts.localDir" }
  | { readonly kind: "mirror"; readonly url: string }
  | ReleaseOrigin;

/** Downloaded here from the release layout into the cache, checked, then copied over SSH. */
export interface ReleaseOrigin {
  readonly kind: "release";
  readonly url: string;
  readonly cachePath: string;
  /** Where the expected sha256 comes from: the pin's setting, or the published checksum's URL. */
  readonly checksumFrom: string;
  /** True when the inventory pins the sha256 (then the published checksum is not read). */
  readonly pinned: boolean;
  /** How long the download may go without a byte (artifacts.downloadTimeout). */
  readonly idleTimeoutMs: number;
}

/** What planning a release needs besides the inventory: its version, the cache, the published checksums. */
export interface ReleaseContext {
  /** cluster.kubernetesVersion. */
  readonly version: string;
  readonly cacheDir: string;
  /** The checksums published beside the binaries the inventory does not pin. */
  readonly published: Partial<Record<Component, string>>;
}

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
  /** Where release downloads are kept (release-download.ts). */
  readonly YAGURA_CACHE_DIR?: string;
}

/** Plans for every binary, or the problems that prevent planning them (all at once). */
export type ArtifactPlanResult =
  | { readonly ok: true; readonly plans: readonly ArtifactPlan[] }
  | { readonly ok: false; readonly problems: readonly string[] };

/** Plans every component binary from the inventory's artifacts section (a release also needs `release`). */
export function planArtifacts(
  a: Inventory["artifacts"],
  env: ArtifactEnv,
  release?: ReleaseContext,
): ArtifactPlanResult {
  const problems: string[] = [];
  const plans: ArtifactPlan[] = [];
  const source = artifactSource(a);
  const envDir =
    env.YAGURA_KUBE_BIN_DIR !== undefined && env.YAGURA_KUBE_BIN_DIR !== "" ? env.YAGURA_KUBE_BIN_DIR : undefined;
  const localDir = envDir ?? a.localDir;
  if (source === "local" && localDir === undefined) {
    problems.push(
      "artifacts.source is local but neither YAGURA_KUBE_BIN_DIR nor artifacts.localDir names the directory holding the binaries",
    );
  }
  if (source === "mirror" && a.mirrorUrl === undefined) {
    problems.push("artifacts.source is mirror but artifacts.mirrorUrl is not set");
  }
  if (source === "release") {
    if (release) return planRelease(a, release);
    problems.push("artifacts.source is release but the release was not resolved (a bug in yagura)");
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
    if (source === "image") origin = { kind: "image" };
    else if (source === "local") {
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

/** Every binary from the release layout, checked against its pin, else against its published sha256. */
function planRelease(a: Inventory["artifacts"], r: ReleaseContext): ArtifactPlanResult {
  const problems: string[] = [];
  const plans: ArtifactPlan[] = [];
  const idleTimeoutMs = parseDuration(a.downloadTimeout) ?? 30_000;
  for (const name of COMPONENT_BINARIES) {
    const pin = a.binaries[name];
    const version = pin?.version ?? r.version;
    const f = releaseFile(a.releaseUrl ?? DEFAULT_RELEASE_URL, version, a.arch, name, r.cacheDir);
    const sha256 = pin?.sha256 ?? r.published[name];
    if (sha256 === undefined || !/^[0-9a-f]{64}$/.test(sha256)) {
      problems.push(
        pin
          ? `artifacts.binaries.${name}.sha256 must be 64 lower-case hex digits`
          : `no checksum for ${name}: ${f.checksumUrl} was not read; pin artifacts.binaries.${name} with its version and sha256`,
      );
      continue;
    }
    const checksumFrom = pin ? `artifacts.binaries.${name}.sha256` : f.checksumUrl;
    const origin: ReleaseOrigin = {
      kind: "release",
      url: f.url,
      cachePath: f.cachePath,
      checksumFrom,
      pinned: pin !== undefined,
      idleTimeoutMs,
    };
    plans.push({ name, version, sha256, nodePath: posix.join(a.installDir, name), origin });
  }
  return problems.length ? { ok: false, problems } : { ok: true, plans };
}

/**
 * Where a node keeps the sha256 of each installed binary with the file's identity when it was
 * hashed, so observe does not read hundreds of megabytes of binaries on every pass.
 */
export const ARTIFACT_SUMS_DIR = "/var/lib/yagura/artifact-sums";

/**
 * sh that prints exactly one line: `ok`, `missing`, or `mismatch <actual sha256>`, and always exits 0
 * (the verdict is data, not a failure of the command).
 *
 * The file is hashed only when its identity (size, inode, ctime in nanoseconds) differs from the
 * one recorded in `sumsDir` with its last hash; the identity is read before hashing, so a file
 * changed during the hash is hashed again next time. Any write to the file, a replacement or a
 * `touch` changes its ctime, which no user-space call can set back. Writing the record is best
 * effort: a read-only node is simply hashed every time.
 */
export function artifactCheckCommand(
  plan: Pick<ArtifactPlan, "nodePath" | "sha256">,
  sumsDir: string = ARTIFACT_SUMS_DIR,
): string {
  const f = shq(plan.nodePath);
  const rec = shq(posix.join(sumsDir, plan.nodePath.replace(/\//g, "_")));
  return (
    `if [ ! -f ${f} ]; then echo missing; ` +
    `else id=$(stat -L -c '%s %i %z' ${f} 2>/dev/null); r=; if [ -r ${rec} ]; then read -r r < ${rec} || true; fi; ` +
    `s=; if [ -n "$id" ] && [ "\${r#* }" = "$id" ]; then s=\${r%% *}; fi; ` +
    // Only a whole hex digest is taken from the record; anything else is hashed again.
    `case "$s" in *[!0-9a-f]*) s= ;; esac; [ \${#s} -eq 64 ] || s=; ` +
    `if [ -z "$s" ]; then s=$(sha256sum ${f} | cut -d ' ' -f 1); ` +
    `{ mkdir -p ${shq(sumsDir)} && printf '%s %s\\n' "$s" "$id" > ${rec}.tmp && mv -f ${rec}.tmp ${rec}; } 2>/dev/null; fi; ` +
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
  if (o.kind === "release")
    return `re-run to copy ${o.cachePath} (from ${o.url}) again, or change artifacts.releaseUrl`;
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
