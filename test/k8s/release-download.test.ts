/**
 * `artifacts.source: release` against a release server on loopback that serves real Kubernetes
 * binaries (YAGURA_KUBE_BIN_DIR, else the unpacked test binaries in .cache/kube-bin; where neither
 * exists, generated files of the same layout) in the official layout: published checksums, the
 * cache, one download per file, and a wrong `.sha256`, a 404, a server that hangs and one that
 * stops halfway, none of which leaves a cache entry.
 */
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { planArtifacts, type ArtifactPlan, type ReleaseOrigin } from "../../src/k8s/artifacts.js";
import { DownloadError, ensureReleaseBinary, publishedChecksum } from "../../src/k8s/release-download.js";
import { parsePublishedChecksum, releaseFile } from "../../src/k8s/release.js";
import { artifactSource, COMPONENT_BINARIES, inventorySchema } from "../../src/inventory/schema.js";
import { startReleaseServer, type ReleaseServer } from "../support/release-server.js";

const tmp = mkdtempSync(join(tmpdir(), "yagura-release-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The real binaries and the release they report, or generated stand-ins where there are none. */
function binaries(): { dir: string; version: string; real: boolean } {
  const env = process.env["YAGURA_KUBE_BIN_DIR"];
  const dir = env ? env : resolve(import.meta.dirname, "../../.cache/kube-bin");
  if (COMPONENT_BINARIES.every((b) => existsSync(join(dir, b)))) {
    const out = execFileSync(join(dir, "kube-apiserver"), ["--version"], { encoding: "utf8" });
    return { dir, version: /Kubernetes v(\S+)/.exec(out)![1]!, real: true };
  }
  console.warn("release download tests use generated files: no Kubernetes binaries (run scripts/kube-bin.sh)");
  const gen = join(tmp, "gen");
  mkdirSync(gen);
  for (const b of COMPONENT_BINARIES) writeFileSync(join(gen, b), randomBytes(3 << 20));
  return { dir: gen, version: "1.33.5", real: false };
}

const bin = binaries();
const sha = (name: string) =>
  createHash("sha256")
    .update(readFileSync(join(bin.dir, name)))
    .digest("hex");
let server: ReleaseServer;
beforeAll(async () => {
  server = await startReleaseServer(bin.dir, bin.version);
});
afterAll(() => server.close());

let n = 0;
/** A fresh cache, so no test sees another's downloads. */
const cache = () => join(tmp, `cache-${n++}`);
const binaryOf = (name: string, cacheDir: string, o: { sha256?: string; pinned?: boolean; idleMs?: number } = {}) => {
  const f = releaseFile(server.url, bin.version, "amd64", name, cacheDir);
  const origin: ReleaseOrigin = {
    kind: "release",
    url: f.url,
    cachePath: f.cachePath,
    checksumFrom: o.pinned ? `artifacts.binaries.${name}.sha256` : f.checksumUrl,
    pinned: o.pinned ?? false,
    idleTimeoutMs: o.idleMs ?? 10_000,
  };
  return { name, version: bin.version, sha256: o.sha256 ?? sha(name), origin };
};
const quiet = { progress: () => undefined };
const leftovers = (path: string) => (existsSync(dirname(path)) ? readdirSync(dirname(path)) : []);
const failure = async (p: Promise<unknown>): Promise<DownloadError> => {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DownloadError);
  return err as DownloadError;
};

describe("the release layout", () => {
  it.each([
    ["only the version", "1.33.5", {}, "release"],
    ["a release mirror", "1.33.5", { releaseUrl: "http://127.0.0.1:1" }, "release"],
    ["the local release", "local", {}, "local"],
    ["a local directory", "1.33.5", { localDir: "/srv/bin" }, "local"],
    ["a node mirror", "1.33.5", { mirrorUrl: "https://m.example/k8s" }, "mirror"],
    ["a written source", "1.33.5", { source: "image", localDir: "/srv/bin" }, "image"],
  ])("the source in force with %s", (_n, version, a, want) => {
    const inv = inventorySchema.parse({ cluster: { name: "c", kubernetesVersion: version }, artifacts: a });
    expect(artifactSource(inv.artifacts, version)).toBe(want);
  });

  it("builds the official URL and a cache path per base URL", () => {
    const f = releaseFile("https://dl.k8s.io/", "v1.33.5", "arm64", "kubelet", "/c");
    expect(f.url).toBe("https://dl.k8s.io/release/v1.33.5/bin/linux/arm64/kubelet");
    expect(f.checksumUrl).toBe(`${f.url}.sha256`);
    expect(f.cachePath).toBe("/c/dl.k8s.io/release/v1.33.5/bin/linux/arm64/kubelet");
    const m = releaseFile("http://127.0.0.1:8080/k8s/../mirror", "1.24.0-alpha.1-lab", "amd64", "kube-proxy", "/c");
    expect(m.url).toBe("http://127.0.0.1:8080/k8s/../mirror/release/v1.24.0-alpha.1-lab/bin/linux/amd64/kube-proxy");
    expect(m.cachePath).toBe("/c/127.0.0.1_8080/mirror/release/v1.24.0-alpha.1-lab/bin/linux/amd64/kube-proxy");
  });

  it.each([
    ["a bare digest", `${"A".repeat(64)}\n`, "a".repeat(64)],
    ["sha256sum output", `${"b".repeat(64)}  kubelet\n`, "b".repeat(64)],
    ["an HTML error page", "<html>not found</html>", undefined],
    ["a short digest", "abc", undefined],
  ])("reads a published checksum: %s", (_n, text, want) => {
    expect(parsePublishedChecksum(text)).toBe(want);
  });

  it("plans from the pin when there is one, else from the published checksum", () => {
    const a = inventorySchema.parse({
      cluster: { name: "c", kubernetesVersion: bin.version },
      artifacts: { releaseUrl: server.url, binaries: { kubelet: { version: bin.version, sha256: "1".repeat(64) } } },
    }).artifacts;
    const published = Object.fromEntries(COMPONENT_BINARIES.map((b) => [b, "2".repeat(64)]));
    const r = planArtifacts(a, {}, { version: bin.version, cacheDir: "/c", published });
    if (!r.ok) throw new Error(r.problems.join("; "));
    const by = Object.fromEntries(r.plans.map((p: ArtifactPlan) => [p.name, p]));
    expect(by.kubelet!.sha256).toBe("1".repeat(64));
    expect(by.kubelet!.origin).toMatchObject({
      kind: "release",
      pinned: true,
      checksumFrom: "artifacts.binaries.kubelet.sha256",
    });
    expect(by["kube-proxy"]!.sha256).toBe("2".repeat(64));
    expect(by["kube-proxy"]!.origin).toMatchObject({
      kind: "release",
      pinned: false,
      url: `${server.url}/release/v${bin.version}/bin/linux/amd64/kube-proxy`,
      checksumFrom: `${server.url}/release/v${bin.version}/bin/linux/amd64/kube-proxy.sha256`,
      idleTimeoutMs: 30_000,
    });
    const none = planArtifacts(a, {}, { version: bin.version, cacheDir: "/c", published: {} });
    expect(none.ok ? [] : none.problems).toHaveLength(4);
  });
});

describe("downloads from a loopback release server", () => {
  it("reads the published checksum once and keeps it", async () => {
    const c = cache();
    const f = releaseFile(server.url, bin.version, "amd64", "kube-proxy", c);
    const path = `/release/v${bin.version}/bin/linux/amd64/kube-proxy.sha256`;
    const before = server.requests.get(path) ?? 0;
    expect(await publishedChecksum(f, { idleTimeoutMs: 5000 })).toBe(sha("kube-proxy"));
    expect(await publishedChecksum(f, { idleTimeoutMs: 5000 })).toBe(sha("kube-proxy"));
    expect(server.requests.get(path)).toBe(before + 1);
    expect(readFileSync(`${f.cachePath}.sha256`, "utf8").trim()).toBe(sha("kube-proxy"));
  });

  it("downloads a binary once for many callers, checks it, and uses the cache after", async () => {
    const c = cache();
    const b = binaryOf("kube-proxy", c);
    const path = new URL(b.origin.url).pathname;
    const before = server.requests.get(path) ?? 0;
    const lines: string[] = [];
    await Promise.all(
      [1, 2, 3, 4].map(() => ensureReleaseBinary(b, { progress: (l) => lines.push(l), progressEveryMs: 0 })),
    );
    expect(server.requests.get(path)).toBe(before + 1);
    expect(createHash("sha256").update(readFileSync(b.origin.cachePath)).digest("hex")).toBe(b.sha256);
    expect(lines[0]).toMatch(
      new RegExp(`^downloading kube-proxy ${bin.version} from ${b.origin.url} \\(\\d+\\.\\d MB\\)$`),
    );
    expect(lines.at(-1)).toMatch(/^downloaded kube-proxy .*sha256 ok$/);
    expect(leftovers(b.origin.cachePath)).toEqual(["kube-proxy"]);
    await ensureReleaseBinary(b, quiet);
    expect(server.requests.get(path)).toBe(before + 1);
  });

  it("replaces a cache entry that no longer checks out, and what a killed download left", async () => {
    const c = cache();
    const b = binaryOf("kube-scheduler", c);
    mkdirSync(dirname(b.origin.cachePath), { recursive: true });
    writeFileSync(b.origin.cachePath, "damaged");
    // A pid that cannot be running: above the kernel's pid_max.
    writeFileSync(`${b.origin.cachePath}.4194305.0a1b2c3d.part`, "cut short");
    writeFileSync(`${b.origin.cachePath}.${process.pid}.0a1b2c3d.part`, "a download in progress");
    await ensureReleaseBinary(b, quiet);
    expect(createHash("sha256").update(readFileSync(b.origin.cachePath)).digest("hex")).toBe(b.sha256);
    expect(leftovers(b.origin.cachePath).sort()).toEqual([
      "kube-scheduler",
      `kube-scheduler.${process.pid}.0a1b2c3d.part`,
    ]);
  });

  it("a wrong .sha256 stops with the file, both checksums and the setting, and keeps nothing", async () => {
    const c = cache();
    const wrong = "f".repeat(64);
    server.faults = { checksum: { "kube-proxy": `${wrong}\n` } };
    try {
      const f = releaseFile(server.url, bin.version, "amd64", "kube-proxy", c);
      const published = await publishedChecksum(f, { idleTimeoutMs: 5000 });
      expect(published).toBe(wrong);
      const b = binaryOf("kube-proxy", c, { sha256: published });
      const e = await failure(ensureReleaseBinary(b, quiet));
      expect(e.reason).toBe("mismatch");
      expect(e.message).toContain(b.origin.url);
      expect(e.message).toContain(`sha256 ${sha("kube-proxy")}`);
      expect(e.message).toContain(`must have ${wrong} (from ${f.checksumUrl})`);
      expect(e.message).toContain("artifacts.releaseUrl");
      expect(e.message).toContain("artifacts.binaries.kube-proxy");
      expect(leftovers(b.origin.cachePath)).toEqual(["kube-proxy.sha256"]);
    } finally {
      server.faults = {};
    }
  });

  it("a pin wins over the published checksum, and a wrong pin names its setting", async () => {
    server.faults = { checksum: { "kube-scheduler": "0".repeat(64) } };
    try {
      await ensureReleaseBinary(binaryOf("kube-scheduler", cache(), { pinned: true }), quiet);
      const c = cache();
      const b = binaryOf("kube-scheduler", c, { pinned: true, sha256: "e".repeat(64) });
      const e = await failure(ensureReleaseBinary(b, quiet));
      expect(e.message).toContain(`must have ${"e".repeat(64)} (from artifacts.binaries.kube-scheduler.sha256)`);
      expect(e.message).toContain("correct artifacts.binaries.kube-scheduler.sha256");
      expect(existsSync(b.origin.cachePath)).toBe(false);
      expect(leftovers(b.origin.cachePath)).toEqual([]);
    } finally {
      server.faults = {};
    }
  });

  it("a missing file is a 404 that names the URL and the settings", async () => {
    server.faults = { missing: ["kubelet"] };
    try {
      const c = cache();
      const f = releaseFile(server.url, bin.version, "amd64", "kubelet", c);
      const e1 = await failure(publishedChecksum(f, { idleTimeoutMs: 5000 }));
      expect(e1.reason).toBe("not-found");
      expect(e1.message).toContain(`${f.checksumUrl} answered 404`);
      expect(e1.message).toContain("cluster.kubernetesVersion");
      const e2 = await failure(ensureReleaseBinary(binaryOf("kubelet", c), quiet));
      expect(e2.reason).toBe("not-found");
      expect(existsSync(f.cachePath)).toBe(false);
    } finally {
      server.faults = {};
    }
  });

  it("a server that accepts and then sends nothing fails after the idle timeout, naming the URL", async () => {
    server.faults = { hang: ["kubelet"] };
    try {
      const c = cache();
      const f = releaseFile(server.url, bin.version, "amd64", "kubelet", c);
      // The server never answers, so only the idle timer can end these.
      const e = await failure(publishedChecksum(f, { idleTimeoutMs: 500 }));
      expect(e.reason).toBe("timeout");
      expect(e.message).toContain(f.checksumUrl);
      expect(e.message).toContain("artifacts.downloadTimeout");
      const e2 = await failure(ensureReleaseBinary(binaryOf("kubelet", c, { idleMs: 500 }), quiet));
      expect(e2.reason).toBe("timeout");
      expect(leftovers(f.cachePath)).toEqual([]);
    } finally {
      server.faults = {};
    }
  });

  it("a download that stops halfway fails and leaves no partial file in the cache", async () => {
    server.faults = { stall: ["kube-apiserver"] };
    try {
      const b = binaryOf("kube-apiserver", cache(), { idleMs: 800 });
      const e = await failure(ensureReleaseBinary(b, quiet));
      expect(e.reason).toBe("timeout");
      expect(e.message).toContain(b.origin.url);
      expect(leftovers(b.origin.cachePath)).toEqual([]);
    } finally {
      server.faults = {};
    }
  });

  it("a server that is not there fails at once, naming the URL", async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const b = binaryOf("kubelet", cache());
    const url = `http://127.0.0.1:${port}/release/kubelet`;
    const e = await failure(ensureReleaseBinary({ ...b, origin: { ...b.origin, url } }, quiet));
    expect(e.reason).toBe("network");
    expect(e.message).toContain(`cannot download ${url}: ECONNREFUSED: check artifacts.releaseUrl`);
  });
});

it("serves the real binaries where the project has them", () => {
  // Says which kind of run this was; the assertions above hold for both.
  expect(typeof bin.real).toBe("boolean");
});
