/**
 * k8s-artifacts: puts each missing or wrong binary on the node, from where the inventory says
 * (a local file or a release downloaded here into the cache, copied over SSH; or the node
 * downloading from the mirror), then checks its sha256
 * on the node again. A binary that still does not match fails the op with the message naming the
 * file, the expected checksum and the setting to change; nothing is started from it.
 */
import { readFile } from "node:fs/promises";
import { posix } from "node:path";
import { shq } from "../../infra/shell.js";
import { artifactCheckCommand, artifactProblem, parseArtifactCheck, type ArtifactPlan } from "../../k8s/artifacts.js";
import { createLimiter } from "../../infra/limit.js";
import { ensureReleaseBinary } from "../../k8s/release-download.js";
import { command, sequenceOp, type Op, type OpContext } from "../types.js";

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

/** Reads a local binary (the op passes one that reads each file once for all nodes). */
export type ReadBinary = (path: string) => Promise<Buffer>;

/** Installs one binary on one node and verifies it there. */
export async function installArtifact(
  ctx: OpContext,
  node: string,
  plan: ArtifactPlan,
  read: ReadBinary = (p) => readFile(p),
): Promise<void> {
  const o = plan.origin;
  if (o.kind === "local") {
    await ctx.shell.upload(node, plan.nodePath, await read(o.path), { mode: 0o755 });
  } else if (o.kind === "release") {
    // Downloaded here once for every node (and checked) before the first copy leaves.
    await ensureReleaseBinary({ ...plan, origin: o });
    await ctx.shell.upload(node, plan.nodePath, await read(o.cachePath), { mode: 0o755 });
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

/**
 * Binaries in flight at once for the whole op. Each upload keeps this process (SSH encryption, one
 * thread) and the node's sshd busy; on the 2-core machines yagura is measured on, more than four
 * bought no throughput (bench/artifacts.ts), only memory and a longer tail.
 */
export const ARTIFACT_UPLOADS_AT_ONCE = 4;

/** How the op runs. */
export interface InstallArtifactsOptions {
  /** Binaries in flight at once, over all nodes. @default ARTIFACT_UPLOADS_AT_ONCE */
  readonly concurrency?: number;
  /** Reads a local binary (tests count the reads). @default readFile of node:fs */
  readonly readFile?: ReadBinary;
}

/**
 * The (node, binary) installs in the order they run: grouped by binary, so each local file is read
 * once, sent to every node that needs it, and released before the next group's files pile up.
 */
export function installOrder(targets: readonly ArtifactTarget[]): { node: string; plan: ArtifactPlan }[] {
  const key = (p: ArtifactPlan) => hostPath(p) ?? p.name;
  const groups = new Map<string, { node: string; plan: ArtifactPlan }[]>();
  for (const t of targets)
    for (const plan of t.plans) {
      const k = key(plan);
      groups.set(k, [...(groups.get(k) ?? []), { node: t.node, plan }]);
    }
  return [...groups.values()].flat();
}

/** The file on this machine a binary is copied from (local, or the release cache), if any. */
export function hostPath(p: ArtifactPlan): string | undefined {
  return p.origin.kind === "local" ? p.origin.path : p.origin.kind === "release" ? p.origin.cachePath : undefined;
}

/**
 * A reader that reads each path once, however many nodes need it, and forgets the content after
 * its last expected use (`uses`: path → number of reads to come).
 */
export function sharedReader(uses: ReadonlyMap<string, number>, read: ReadBinary = (p) => readFile(p)): ReadBinary {
  const left = new Map(uses);
  const cache = new Map<string, Promise<Buffer>>();
  return (path) => {
    let content = cache.get(path);
    if (!content) cache.set(path, (content = read(path)));
    const n = (left.get(path) ?? 1) - 1;
    left.set(path, n);
    if (n <= 0) cache.delete(path);
    return content;
  };
}

/**
 * Installs the listed binaries: every (node, binary) pair, a few at a time over all nodes (see
 * ARTIFACT_UPLOADS_AT_ONCE), each local file read once. Every install runs and is verified even
 * when another fails; the first failure fails the op.
 */
export function installArtifactsOp(targets: readonly ArtifactTarget[], o: InstallArtifactsOptions = {}): Op {
  const nodes = targets.map((t) => t.node);
  return sequenceOp("k8s-artifacts", nodes, [
    command("install-artifacts", nodes.join(","), async (ctx) => {
      const order = installOrder(targets);
      const uses = new Map<string, number>();
      for (const { plan } of order) {
        const p = hostPath(plan);
        if (p !== undefined) uses.set(p, (uses.get(p) ?? 0) + 1);
      }
      const read = sharedReader(uses, o.readFile);
      const slot = createLimiter(o.concurrency ?? ARTIFACT_UPLOADS_AT_ONCE);
      const results = await Promise.allSettled(
        order.map(({ node, plan }) => slot(() => installArtifact(ctx, node, plan, read))),
      );
      const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
      if (failed) throw failed.reason;
    }),
  ]);
}
