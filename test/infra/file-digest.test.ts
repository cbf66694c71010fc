/** The file digest cache: one hash per file identity, kept on disk for the next process. */
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, renameSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeEach, describe, expect, it, vi } from "vitest";

const dir = mkdtempSync(join(tmpdir(), "yagura-digest-"));
const cacheDir = join(dir, "cache");
const sha = (s: string) => createHash("sha256").update(s).digest("hex");
const FAKE = "f".repeat(64);

/** A fresh copy of the module, as a new process would load it. */
async function fresh() {
  vi.resetModules();
  return import("../../src/infra/file-digest.js");
}

describe("file digests", () => {
  const saved = process.env["YAGURA_CACHE_DIR"];
  beforeEach(() => {
    process.env["YAGURA_CACHE_DIR"] = cacheDir;
    rmSync(cacheDir, { recursive: true, force: true });
  });
  afterAll(() => {
    if (saved === undefined) delete process.env["YAGURA_CACHE_DIR"];
    else process.env["YAGURA_CACHE_DIR"] = saved;
    rmSync(dir, { recursive: true, force: true });
  });

  it("a later process takes the digest from disk while the file keeps its identity", async () => {
    const f = join(dir, "kubelet");
    writeFileSync(f, "v1");
    const first = await fresh();
    expect(await first.sha256File(f)).toBe(sha("v1"));
    const file = first.digestCachePath();
    expect(file).toBe(join(cacheDir, "file-digests.json"));
    // Another digest under the same identity proves the next process did not read the file.
    writeFileSync(file, readFileSync(file, "utf8").replace(sha("v1"), FAKE));
    const second = await fresh();
    expect(second.sha256FileSync(f)).toBe(FAKE);
    expect(await second.sha256File(f)).toBe(FAKE);
  });

  it("hashes again after any change: rewritten with its old size and mtime, or replaced", async () => {
    const f = join(dir, "kube-proxy");
    writeFileSync(f, "v1");
    const t = new Date("2026-01-01T00:00:00Z");
    utimesSync(f, t, t);
    const m = await fresh();
    expect(m.sha256FileSync(f)).toBe(sha("v1"));
    // Same size, mtime set back: only the ctime tells.
    writeFileSync(f, "v2");
    utimesSync(f, t, t);
    expect(m.sha256FileSync(f)).toBe(sha("v2"));
    writeFileSync(`${f}.new`, "v3");
    renameSync(`${f}.new`, f);
    expect(await (await fresh()).sha256File(f)).toBe(sha("v3"));
  });

  it("a damaged or unwritable cache only costs a hash", async () => {
    const f = join(dir, "kube-scheduler");
    writeFileSync(f, "v1");
    const m = await fresh();
    m.sha256FileSync(f);
    writeFileSync(m.digestCachePath(), "{ not json");
    expect((await fresh()).sha256FileSync(f)).toBe(sha("v1"));
    process.env["YAGURA_CACHE_DIR"] = join(f, "not-a-dir");
    expect((await fresh()).sha256FileSync(f)).toBe(sha("v1"));
  });

  it("a binary's version is asked once per file identity, beside its digest", async () => {
    const f = join(dir, "kube-apiserver");
    writeFileSync(f, "v1");
    const asked: string[] = [];
    const ask = (p: string) => (asked.push(p), "1.24.0");
    const m = await fresh();
    expect(m.sha256FileSync(f)).toBe(sha("v1"));
    expect(m.binaryVersionSync(f, ask)).toBe("1.24.0");
    // A later process takes both from disk: the version did not push the digest out.
    const later = await fresh();
    expect(later.binaryVersionSync(f, ask)).toBe("1.24.0");
    writeFileSync(later.digestCachePath(), readFileSync(later.digestCachePath(), "utf8").replace(sha("v1"), FAKE));
    expect((await fresh()).sha256FileSync(f)).toBe(FAKE);
    expect(asked).toEqual([f]);
    // A new binary is asked again; a binary that answers nothing is asked every time.
    writeFileSync(f, "v2");
    expect((await fresh()).binaryVersionSync(f, () => undefined)).toBeUndefined();
    expect((await fresh()).binaryVersionSync(f, ask)).toBe("1.24.0");
    expect(asked).toEqual([f, f]);
    expect((await fresh()).binaryVersionSync(join(dir, "missing"), ask)).toBeUndefined();
    expect(asked).toHaveLength(2);
  });
});
