/**
 * k8s-artifacts: puts each missing or wrong binary on the node, from where the inventory says
 * (a local file copied over SSH, or the node downloading from the mirror), then checks its sha256
 * on the node again. A binary that still does not match fails the op with the message naming the
 * file, the expected checksum and the setting to change; nothing is started from it.
 */
import { readFile } from "node:fs/promises";
import { posix } from "node:path";
import { shq } from "../../infra/shell.js";
import { artifactCheckCommand, artifactProblem, parseArtifactCheck, type ArtifactPlan } from "../../k8s/artifacts.js";
import { parallelCommand, sequenceOp, type Op, type OpContext } from "../types.js";

/** The binaries one node needs installed. */
export interface ArtifactTarget {
  readonly node: string;
  readonly plans: readonly ArtifactPlan[];
}

/** How long a node may take to download one binary from the mirror. */
export const MIRROR_TIMEOUT_MS = 10 * 60_000;

/**
 * sh that downloads `url` to `path` (mode 0755) with curl or wget, through a temp file beside it,
 * so a half-downloaded binary never takes the real name.
 */
export function mirrorFetchScript(url: string, path: string): string {
  const t = `${path}.yagura-download`;
  return [
    "set -e",
    `mkdir -p ${shq(posix.dirname(path))}`,
    `rm -f ${shq(t)}`,
    `if command -v curl >/dev/null 2>&1; then curl -fsSL --retry 2 -o ${shq(t)} ${shq(url)}`,
    `elif command -v wget >/dev/null 2>&1; then wget -q -O ${shq(t)} ${shq(url)}`,
    `else echo "neither curl nor wget is installed on this node: install one, or use artifacts.source local" >&2; exit 1; fi`,
    `chmod 0755 ${shq(t)}`,
    `mv -f ${shq(t)} ${shq(path)}`,
  ].join("\n");
}

/** Installs one binary on one node and verifies it there. */
export async function installArtifact(ctx: OpContext, node: string, plan: ArtifactPlan): Promise<void> {
  const o = plan.origin;
  if (o.kind === "local") {
    await ctx.shell.upload(node, plan.nodePath, await readFile(o.path), { mode: 0o755 });
  } else if (o.kind === "mirror") {
    await ctx.shell.run(node, "sh -s", {
      stdin: mirrorFetchScript(o.url, plan.nodePath),
      timeoutMs: MIRROR_TIMEOUT_MS,
    });
  }
  // An image binary is never installed by yagura: only re-checked, which fails with the remedy.
  const verdict = parseArtifactCheck(await ctx.shell.run(node, artifactCheckCommand(plan)));
  const problem = artifactProblem(node, plan, verdict);
  if (problem) throw new Error(problem);
}

/** Installs the listed binaries, nodes in parallel, each node's binaries one after another. */
export function installArtifactsOp(targets: readonly ArtifactTarget[]): Op {
  const byNode = new Map(targets.map((t) => [t.node, t.plans]));
  return sequenceOp(
    "k8s-artifacts",
    targets.map((t) => t.node),
    [
      parallelCommand(
        "install-artifacts",
        targets.map((t) => t.node),
        async (ctx, node) => {
          for (const p of byNode.get(node) ?? []) await installArtifact(ctx, node, p);
        },
      ),
    ],
  );
}
