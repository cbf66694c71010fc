/**
 * No client of yagura's names a TLS server by an IP address (Node's DEP0123, which `reconcile` and
 * `status` printed): the etcd clients (grpc-js) against a real TLS etcd on loopback, and the
 * Kubernetes client against the mutual-TLS stub. Node warns once per process, so the clients run
 * first and a raw connection with an IP server name runs last, proving the warning would be seen.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createConnection } from "node:net";
import { connect } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { streamSnapshot } from "../../src/backup/snapshot.js";
import { createEtcdAdmin } from "../../src/infra/etcd.js";
import { createKubeApi } from "../../src/infra/kube.js";
import { etcdAdminClient, openPki, type Pki } from "../../src/pki/index.js";
import { freePort, spawnMember, startEtcd, stopMember, type TestEtcd } from "./etcd-server.js";
import { json, startKubeStub, type KubeStub } from "./kube-stub.js";

const HOST = "127.0.0.93";
const DAY = 24 * 60 * 60 * 1000;
const warnings: string[] = [];
const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
const serverNameWarnings = () => warnings.filter((w) => /TLS ServerName to an IP address/.test(w));

let dir: string;
let pki: Pki;
let etcd: TestEtcd;
let kube: KubeStub;

beforeAll(async () => {
  process.on("warning", onWarning);
  dir = await mkdtemp(join(tmpdir(), "yagura-tls-name-"));
  pki = openPki(join(dir, "pki"));
  etcd = await startEtcd(dir, pki, [HOST], await freePort(HOST), await freePort(HOST));
  kube = await startKubeStub((_s, res) => json(res, 200, { kind: "Status", status: "Success" }));
});

afterAll(async () => {
  process.off("warning", onWarning);
  await etcd?.stop();
  await kube?.close();
  await rm(dir, { recursive: true, force: true });
});

/** Whether something accepts TCP connections at host:port. */
const listening = (host: string, port: number) =>
  new Promise<boolean>((resolve) => {
    const c = createConnection({ host, port });
    c.once("connect", () => c.end(() => resolve(true))).once("error", () => resolve(false));
  });

describe("TLS server names", () => {
  it("the etcd admin client, a member's status and a snapshot stream reach an etcd at an IP address without DEP0123", async () => {
    const admin = createEtcdAdmin(etcd.endpoints, etcd.tls);
    try {
      expect((await admin.members()).map((m) => m.name)).toEqual(["etcd1"]);
      expect(await admin.endpointStatus(etcd.endpoints[0]!)).toMatchObject({ healthy: true });
    } finally {
      await admin.close();
    }
    expect(await streamSnapshot(etcd.endpoints[0]!, etcd.tls, join(dir, "snap.db"))).toBeGreaterThan(0);
    // the warning is emitted on the next tick
    await new Promise((r) => setImmediate(r));
    expect(serverNameWarnings()).toEqual([]);
  });

  it("still verifies the member's certificate: one without the name yagura's member certificates carry is refused", async () => {
    const now = new Date();
    const node = { name: "stray", address: HOST };
    await pki.loadOrIssue(
      "etcd-peer",
      {
        name: "etcd-peer-stray",
        commonName: "stray",
        dnsNames: ["stray"],
        ipAddresses: [HOST],
        usages: ["server", "client"],
      },
      now,
      DAY,
    );
    // a serving certificate of the right CA for the right address, but without ETCD_SERVER_NAME
    await pki.loadOrIssue(
      "etcd-client",
      { name: "etcd-server-stray", commonName: "stray", dnsNames: ["stray"], ipAddresses: [HOST], usages: ["server"] },
      now,
      DAY,
    );
    await etcdAdminClient(pki, now, DAY);
    const [client, peer] = [await freePort(HOST), await freePort(HOST)];
    let log = "";
    const member = spawnMember(dir, pki, node, `stray=https://${HOST}:${peer}`, "new", client, peer, (t) => (log += t));
    const admin = createEtcdAdmin([`https://${HOST}:${client}`], etcd.tls, {
      callTimeoutMs: 3000,
      statusTimeoutMs: 3000,
    });
    try {
      // wait until the member listens, so a refusal is the certificate's and not a closed port
      for (let i = 0; i < 100 && !(await listening(HOST, client)); i++) await new Promise((r) => setTimeout(r, 100));
      expect(await listening(HOST, client), log).toBe(true);
      const s = await admin.endpointStatus(`https://${HOST}:${client}`);
      expect(s.healthy).toBe(false);
      await expect(admin.members()).rejects.toThrow();
    } finally {
      await admin.close();
      await stopMember(member);
    }
  });

  it("the Kubernetes client reaches an API server at an IP address without DEP0123", async () => {
    const api = createKubeApi(kube.endpoint);
    expect(kube.endpoint.server).toMatch(/^https:\/\/127\.0\.0\.1:/);
    expect((await api.readyz()).ok).toBe(true);
    await new Promise((r) => setImmediate(r));
    expect(serverNameWarnings()).toEqual([]);
  });

  it("a connection that does name the server by IP address is seen (the check above can fail)", async () => {
    const port = Number(new URL(etcd.endpoints[0]!).port);
    await new Promise<void>((resolve) => {
      const s = connect({
        host: HOST,
        port,
        servername: HOST,
        ca: etcd.tls.ca,
        cert: etcd.tls.cert,
        key: etcd.tls.key,
      });
      s.once("secureConnect", () => s.end(resolve)).once("error", () => resolve());
    });
    await new Promise((r) => setImmediate(r));
    expect(serverNameWarnings()).toHaveLength(1);
  });
});
