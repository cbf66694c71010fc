import { createHash } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AddonSourceError, loadBundle, parseManifests } from "../../src/addons/sources.js";

const FIXTURES = resolve(import.meta.dirname, "../fixtures/addons");
const sha = (s: string | Buffer) => createHash("sha256").update(s).digest("hex");
const BUNDLE = `apiVersion: v1
kind: Namespace
metadata: { name: demo }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: demo }
spec: { replicas: 1 }
---
`;

describe("parseManifests", () => {
  it("reads every document and skips empty ones", () => {
    const objs = parseManifests(BUNDLE, "x.yaml");
    expect(objs.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(["Namespace/demo", "Deployment/web"]);
  });

  it.each([
    ["apiVersion: v1\nmetadata: { name: a }\n", /document 1 is not a Kubernetes object/],
    ["apiVersion: v1\nkind: ConfigMap\n", /document 1 \(ConfigMap\) has no metadata.name/],
    ["apiVersion: v1\nkind: List\nmetadata: { name: a }\nitems: []\n", /is a List/],
    ["a: [\n", /document 1 is not valid YAML/],
  ])("refuses %j", (text, want) => {
    expect(() => parseManifests(text, "x.yaml")).toThrow(want);
  });
});

describe("loadBundle from a file", () => {
  it("reads a stand-in bundle relative to the inventory directory", async () => {
    const b = await loadBundle(
      "coredns",
      {
        version: "v1.12.1",
        sha256: "ba23e2bfee7d0097d95e3171c1ef7adb93f9da426cb882bf62715ad71f1f09a4",
        source: "coredns.yaml",
      },
      FIXTURES,
    );
    expect(b.objects.map((o) => o.kind)).toContain("Deployment");
  });

  it("checks the sha256 before parsing: a wrong checksum names the file, both sums and the setting", async () => {
    const dir = mkdtempSync(join(tmpdir(), "yagura-addons-"));
    // Not YAML at all: had it been parsed first, the error would be a parse error.
    writeFileSync(join(dir, "broken.yaml"), "a: [\n");
    const wrong = "0".repeat(64);
    const err = await loadBundle("nfs-csi", { version: "v4.11.0", sha256: wrong, source: "broken.yaml" }, dir).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AddonSourceError);
    const msg = (err as Error).message;
    expect(msg).toContain(join(dir, "broken.yaml"));
    expect(msg).toContain(wrong);
    expect(msg).toContain(sha("a: [\n"));
    expect(msg).toContain("addons.bundles.nfs-csi.sha256");
  });

  it("names the source setting when the file is missing", async () => {
    await expect(
      loadBundle("coredns", { version: "v1", sha256: "0".repeat(64), source: "nope.yaml" }, FIXTURES),
    ).rejects.toThrow(/addons.bundles.coredns.source/);
  });
});

describe("loadBundle from a URL (a local server on 127.0.0.1)", () => {
  let server: Server;
  let base = "";
  const requests: string[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      requests.push(req.url ?? "");
      if (req.url === "/bundle.yaml") {
        res.writeHead(200, { "content-type": "application/yaml" });
        res.end(BUNDLE);
      } else {
        res.writeHead(404);
        res.end("no");
      }
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
  });

  it("fetches, verifies and parses", async () => {
    const b = await loadBundle("coredns", { version: "v1", sha256: sha(BUNDLE), source: `${base}/bundle.yaml` }, "/");
    expect(b.objects).toHaveLength(2);
    expect(requests).toContain("/bundle.yaml");
  });

  it("refuses a changed download", async () => {
    await expect(
      loadBundle("coredns", { version: "v1", sha256: sha("other"), source: `${base}/bundle.yaml` }, "/"),
    ).rejects.toThrow(/has sha256 [0-9a-f]{64}, but the inventory expects/);
  });

  it("reports an HTTP error with the source setting", async () => {
    await expect(
      loadBundle("coredns", { version: "v1", sha256: sha(BUNDLE), source: `${base}/missing.yaml` }, "/"),
    ).rejects.toThrow(/HTTP 404.*addons.bundles.coredns.source/);
  });
});
