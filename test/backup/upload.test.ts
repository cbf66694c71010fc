/**
 * Snapshot upload to S3-compatible storage. The signer is checked against the worked example AWS
 * publishes for SigV4 (sig-v4-header-based-auth: GET /test.txt with a Range header); the client and
 * the upload against a real S3-compatible server, s3rver, on 127.0.0.1 (s3rver checks the access key
 * but does not recompute SigV4 signatures, hence the published example); and the etcd-snapshot op
 * end to end against a real one-member TLS etcd on loopback plus that server.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import S3rver from "s3rver";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { s3Client, S3Error } from "../../src/backup/s3.js";
import { canonicalRequest, sha256Hex, signRequest } from "../../src/backup/sigv4.js";
import { verifySnapshot } from "../../src/backup/snapshot.js";
import { localSnapshotStore, snapshotName, type SnapshotMeta } from "../../src/backup/store.js";
import { readUploadState, s3Upload, uploadOf, uploadWithRetention } from "../../src/backup/upload.js";
import { createEtcdAdmin } from "../../src/infra/etcd.js";
import { etcdSnapshotOp } from "../../src/ops/etcd/snapshot.js";
import type { OpContext } from "../../src/ops/types.js";
import { openPki } from "../../src/pki/index.js";
import { testSpec } from "../decide/builder.js";
import type { ClusterSpec } from "../../src/cluster/spec.js";
import { freePort, startEtcd, type TestEtcd } from "../infra/etcd-server.js";

/** `spec` with reconciler.backup.upload set (the test builder's inventory has no reconciler section). */
function withUpload(spec: ClusterSpec, upload: Record<string, unknown>): ClusterSpec {
  const r = spec.inventory.reconciler ?? {};
  const backup = Object.assign({ schedule: "15m", retention: 16 }, r.backup, {
    upload: { kind: "s3", region: "us-east-1", prefix: "", accessKeyIdEnv: "A", secretAccessKeyEnv: "B", ...upload },
  });
  return { ...spec, inventory: { ...spec.inventory, reconciler: { ...r, backup } } } as ClusterSpec;
}

const dirs: string[] = [];
const tmp = (p: string) => {
  const d = mkdtempSync(join(tmpdir(), p));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe("SigV4", () => {
  // AWS's published example: credentials AKIAIOSFODNN7EXAMPLE / wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY,
  // 2013-05-24T00:00:00Z, us-east-1, GET https://examplebucket.s3.amazonaws.com/test.txt, Range: bytes=0-9.
  const creds = { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" };
  const input = {
    method: "GET",
    url: new URL("https://examplebucket.s3.amazonaws.com/test.txt"),
    headers: { Range: "bytes=0-9" },
    payloadHash: sha256Hex(""),
    region: "us-east-1",
    now: new Date("2013-05-24T00:00:00Z"),
  };

  it("builds the published canonical request and signature", () => {
    const h = signRequest(input, creds);
    expect(h.authorization).toBe(
      "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, " +
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, " +
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
    );
    const { authorization: _a, ...signed } = h;
    expect(canonicalRequest(input, signed).text).toBe(
      [
        "GET",
        "/test.txt",
        "",
        "host:examplebucket.s3.amazonaws.com",
        "range:bytes=0-9",
        "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "x-amz-date:20130524T000000Z",
        "",
        "host;range;x-amz-content-sha256;x-amz-date",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      ].join("\n"),
    );
  });

  it("encodes the key and sorts the query as SigV4 requires; a different secret gives another signature", () => {
    const url = new URL("http://127.0.0.1:9000/b/prod/a%20b+c.db?prefix=prod%2F&list-type=2");
    const { text } = canonicalRequest({ ...input, url }, { host: url.host });
    expect(text.split("\n").slice(1, 3)).toEqual(["/b/prod/a%20b%2Bc.db", "list-type=2&prefix=prod%2F"]);
    const other = signRequest(input, { ...creds, secretAccessKey: "x" }).authorization;
    expect(other).not.toBe(signRequest(input, creds).authorization);
  });
});

describe("S3 client and upload against s3rver on 127.0.0.1", () => {
  let server: S3rver;
  let endpoint = "";
  const creds = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };
  beforeAll(async () => {
    server = new S3rver({
      address: "127.0.0.1",
      port: await freePort(),
      silent: true,
      directory: tmp("yg-s3rver-"),
      configureBuckets: [{ name: "yagura-snapshots", configs: [] }],
    });
    const { port } = await server.run();
    endpoint = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    await server?.close();
  });
  const client = () => s3Client({ endpoint, bucket: "yagura-snapshots", region: "us-east-1", credentials: creds });

  it("PUTs a file and text, LISTs by prefix, GETs them back byte for byte, DELETEs", async () => {
    const c = client();
    const file = join(tmp("yg-s3-"), "blob");
    writeFileSync(file, Buffer.alloc(300_000, 7));
    await c.putFile("t/one two.bin", file);
    await c.putText("t/meta.json", '{"a":1}');
    await c.putText("other/x", "y");
    expect((await c.list("t/")).map((o) => [o.key, o.size]).sort()).toEqual([
      ["t/meta.json", 7],
      ["t/one two.bin", 300_000],
    ]);
    const back = join(tmp("yg-s3-"), "back");
    await c.getToFile("t/one two.bin", back);
    expect(statSync(back).size).toBe(300_000);
    expect(statSync(back).mode & 0o777).toBe(0o600);
    expect(await c.getText("t/meta.json")).toBe('{"a":1}');
    await c.remove("t/one two.bin");
    expect((await c.list("t/")).map((o) => o.key)).toEqual(["t/meta.json"]);
  });

  it("reports S3's error code, never the secret", async () => {
    const bad = s3Client({
      endpoint,
      bucket: "yagura-snapshots",
      region: "us-east-1",
      credentials: { accessKeyId: "NOSUCHKEY", secretAccessKey: "very-secret-value" },
    });
    const err = await bad.putText("k", "v").catch((e: S3Error) => e);
    expect(err).toBeInstanceOf(S3Error);
    expect((err as S3Error).code).toBe("InvalidAccessKeyId");
    expect((err as Error).message).not.toContain("very-secret-value");
    const missing = await s3Client({ endpoint, bucket: "no-such-bucket", region: "us-east-1", credentials: creds })
      .list("")
      .catch((e: S3Error) => e);
    expect(missing).toMatchObject({ status: 404, code: "NoSuchBucket" });
  });

  it("uploads snapshots with their sidecars and keeps the newest N in the bucket", async () => {
    const up = s3Upload(client(), "prod/", "prod");
    const dir = tmp("yg-local-");
    const names: string[] = [];
    for (let i = 0; i < 4; i++) {
      const name = snapshotName("prod", new Date(Date.UTC(2026, 0, 1, 0, i)), 10 + i);
      writeFileSync(join(dir, name), `db ${i}`);
      const meta = { env: "prod", revision: 10 + i, takenAt: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString() };
      await uploadWithRetention(up, { name, path: join(dir, name), meta: meta as SnapshotMeta }, "prod", 2);
      names.push(name);
    }
    expect(await up.list()).toEqual([names[3], names[2]]);
    const keys = (await client().list("prod/")).map((o) => o.key).sort();
    expect(keys).toEqual([names[2], `${names[2]}.json`, names[3], `${names[3]}.json`].map((k) => `prod/${k}`).sort());
  });

  it("takes credentials only from the variables the inventory names", () => {
    const spec = testSpec(3);
    const withUp = withUpload(spec, {
      endpoint,
      bucket: "yagura-snapshots",
      accessKeyIdEnv: "T_KEY",
      secretAccessKeyEnv: "T_SECRET",
    });
    expect(() => uploadOf(withUp, { T_KEY: "S3RVER" })).toThrow(/needs the S3 credentials in T_SECRET/);
    expect(uploadOf(withUp, { T_KEY: "S3RVER", T_SECRET: "S3RVER" })?.location).toMatch(/^s3:\/\/yagura-snapshots\//);
    expect(uploadOf(spec, {})).toBeUndefined();
  });

  describe("the etcd-snapshot op with a real etcd on loopback", () => {
    let etcd: TestEtcd;
    beforeAll(async () => {
      const dir = tmp("yg-snap-etcd-");
      const port = await freePort("127.0.0.85");
      etcd = await startEtcd(dir, openPki(join(dir, "pki")), ["127.0.0.85"], port, await freePort("127.0.0.85"));
    }, 60_000);
    afterAll(async () => {
      await etcd?.stop();
    });

    const ctxOf = (): OpContext => ({
      shell: {} as OpContext["shell"],
      etcdAdmin: (e) => createEtcdAdmin([...e], etcd.tls),
      sleep: async () => undefined,
      now: () => new Date(),
      etcdTls: etcd.tls,
    });

    it("snapshots with the context's TLS, verifies, uploads, applies retention remotely, records the upload", async () => {
      const spec = testSpec(1);
      const store = localSnapshotStore(tmp("yg-snap-store-"), spec.env);
      const up = s3Upload(client(), "op/", spec.env);
      const local = { tls: async (_s: unknown, ctx: OpContext) => ctx.etcdTls!, store: () => store, upload: () => up };
      const members = [{ node: spec.nodes[0]!.name, clientURL: etcd.endpoints[0]! }];
      for (let i = 0; i < 3; i++) {
        const op = etcdSnapshotOp({ spec, members, retention: 5 }, local);
        await op.nextCommand()!.run(ctxOf());
        await new Promise((r) => setTimeout(r, 1100)); // one snapshot name per second
      }
      const remote = await up.list();
      expect(remote).toHaveLength(3);
      const back = join(tmp("yg-snap-back-"), "back.db");
      await up.download(remote[0]!, back);
      expect((await verifySnapshot(back)).revision).toBeGreaterThanOrEqual(0);
      expect(readUploadState(store.location)).toMatchObject({ name: remote[0], ok: true });

      // Retention in the bucket follows the inventory's upload.retention.
      const keepOne = withUpload(spec, { endpoint, bucket: "yagura-snapshots", prefix: "op/", retention: 1 });
      await etcdSnapshotOp({ spec: keepOne, members, retention: 5 }, local).nextCommand()!.run(ctxOf());
      expect(await up.list()).toHaveLength(1);
      expect((await store.list()).length).toBe(4);
    }, 60_000);

    it("a failed upload fails the op, keeps the verified local snapshot, and records why", async () => {
      const spec = testSpec(1);
      const store = localSnapshotStore(tmp("yg-snap-store-"), spec.env);
      const broken = s3Upload(
        s3Client({ endpoint, bucket: "no-such-bucket", region: "us-east-1", credentials: creds }),
        "",
        spec.env,
      );
      const op = etcdSnapshotOp(
        { spec, members: [{ node: spec.nodes[0]!.name, clientURL: etcd.endpoints[0]! }], retention: 5 },
        { tls: async (_s, ctx) => ctx.etcdTls!, store: () => store, upload: () => broken },
      );
      await expect(op.nextCommand()!.run(ctxOf())).rejects.toThrow(
        /is kept in .*, but its upload failed: .*NoSuchBucket/,
      );
      const kept = await store.list();
      expect(kept).toHaveLength(1);
      expect(existsSync(kept[0]!.path)).toBe(true);
      expect(readUploadState(store.location)).toMatchObject({ name: kept[0]!.name, ok: false });
      expect(readdirSync(store.location).filter((f) => f.startsWith(".") && f.includes("incoming"))).toEqual([]);
    }, 60_000);

    it("without TLS material in the context the default refuses, naming the wiring", async () => {
      const spec = testSpec(1);
      const op = etcdSnapshotOp(
        { spec, members: [{ node: spec.nodes[0]!.name, clientURL: etcd.endpoints[0]! }], retention: 5 },
        {
          tls: (s, ctx) => import("../../src/ops/etcd/snapshot.js").then((m) => m.localState.tls(s, ctx)),
          store: () => localSnapshotStore(tmp("yg-s-"), spec.env),
          upload: () => undefined,
        },
      );
      const { etcdTls: _t, ...noTls } = ctxOf();
      await expect(op.nextCommand()!.run(noTls)).rejects.toThrow(/carries no etcd TLS material/);
    });
  });
});
