/**
 * The k8s-artifacts op with `artifacts.source: release`: planned from an inventory that names only
 * the version and a loopback mirror, each binary is downloaded here once for all the nodes that need
 * it, and every node gets exactly the published bytes; a mirror whose file does not match its
 * checksum fails the op before any copy of that file leaves.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NodeShell } from "../../src/infra/types.js";
import { COMPONENT_BINARIES, inventorySchema } from "../../src/inventory/schema.js";
import { planArtifacts, type ArtifactPlan } from "../../src/k8s/artifacts.js";
import { publishedChecksum } from "../../src/k8s/release-download.js";
import { releaseFile } from "../../src/k8s/release.js";
import { installArtifactsOp } from "../../src/ops/k8s/artifacts.js";
import type { OpContext } from "../../src/ops/types.js";
import { startReleaseServer, type ReleaseServer } from "../support/release-server.js";

const VERSION = "1.33.5";
const root = mkdtempSync(join(tmpdir(), "yagura-release-op-"));
const bins = join(root, "bin");
mkdirSync(bins);
for (const b of COMPONENT_BINARIES) writeFileSync(join(bins, b), randomBytes(1 << 20));
const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");
let server: ReleaseServer;
beforeAll(async () => {
  server = await startReleaseServer(bins, VERSION);
});
afterAll(async () => {
  await server.close();
  rmSync(root, { recursive: true, force: true });
});

/** Plans as prepareMaterial makes them: published checksums read, then planned. */
async function plans(cacheDir: string): Promise<ArtifactPlan[]> {
  const a = inventorySchema.parse({
    cluster: { name: "r", kubernetesVersion: VERSION },
    artifacts: { releaseUrl: server.url },
  }).artifacts;
  const published = Object.fromEntries(
    await Promise.all(
      COMPONENT_BINARIES.map(async (b) => [
        b,
        await publishedChecksum(releaseFile(server.url, VERSION, "amd64", b, cacheDir), { idleTimeoutMs: 5000 }),
      ]),
    ),
  );
  const r = planArtifacts(a, {}, { version: VERSION, cacheDir, published });
  if (!r.ok) throw new Error(r.problems.join("; "));
  return [...r.plans];
}

/** A node shell that keeps what is uploaded and checks it like the node would. */
function nodes() {
  const files = new Map<string, Buffer>();
  const nope = () => {
    throw new Error("not implemented");
  };
  const shell = {
    roundTrips: new Map(),
    exec: nope,
    close: async () => undefined,
    upload: async (node: string, path: string, content: string | Buffer) => {
      files.set(`${node}:${path}`, Buffer.from(content));
    },
    run: async (node: string, command: string) => {
      const path = /\/opt\/yagura\/bin\/[a-z-]+/.exec(command)![0];
      const want = /\b([0-9a-f]{64})\b/.exec(command)![1]!;
      const f = files.get(`${node}:${path}`);
      return f === undefined ? "missing\n" : sha(f) === want ? "ok\n" : `mismatch ${sha(f)}\n`;
    },
  } satisfies NodeShell;
  return { shell, files };
}

async function run(shell: NodeShell, p: ArtifactPlan[], targets: string[]): Promise<void> {
  const op = installArtifactsOp(targets.map((node) => ({ node, plans: p })));
  for (let c = op.nextCommand(); c; c = op.nextCommand()) await c.run({ shell } as unknown as OpContext);
}

describe("k8s-artifacts from a release mirror", () => {
  it("downloads each binary once for every node and copies the published bytes", async () => {
    const p = await plans(join(root, "cache-a"));
    const { shell, files } = nodes();
    const before = new Map(server.requests);
    await run(shell, p, ["cp1", "cp2", "w1", "w2"]);
    for (const b of COMPONENT_BINARIES) {
      const path = `/release/v${VERSION}/bin/linux/amd64/${b}`;
      expect(server.requests.get(path) ?? 0, b).toBe((before.get(path) ?? 0) + 1);
      for (const n of ["cp1", "cp2", "w1", "w2"])
        expect(files.get(`${n}:/opt/yagura/bin/${b}`)?.equals(readFileSync(join(bins, b))), `${n} ${b}`).toBe(true);
    }
  });

  it("a file that does not match its published checksum fails the op and reaches no node", async () => {
    server.faults = { checksum: { kubelet: "9".repeat(64) } };
    try {
      const p = await plans(join(root, "cache-b"));
      const { shell, files } = nodes();
      await expect(run(shell, p, ["cp1", "w1"])).rejects.toThrow(
        new RegExp(
          `kubelet has sha256 ${sha(readFileSync(join(bins, "kubelet")))}, but kubelet ${VERSION} must have ${"9".repeat(64)}`,
        ),
      );
      expect([...files.keys()].filter((k) => k.endsWith("/kubelet"))).toEqual([]);
      expect(files.has("cp1:/opt/yagura/bin/kube-proxy")).toBe(true);
    } finally {
      server.faults = {};
    }
  });
});
