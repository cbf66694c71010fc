/**
 * The lab tests' etcd writer against a real TLS etcd on loopback: it counts only acknowledged puts
 * and, reading all its keys back in one range, names an acknowledged key etcd no longer holds and
 * one that holds another value.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Etcd3 } from "etcd3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { envPaths } from "../../src/cluster/paths.js";
import { ETCD_GRPC_OPTIONS } from "../../src/infra/etcd.js";
import { openPki } from "../../src/pki/index.js";
import { until } from "../e2e/helpers.js";
import { freePort, startEtcd, type TestEtcd } from "../infra/etcd-server.js";
import { stateEtcdSkipReason } from "../state/state-etcd.js";
import { etcdWriter } from "./etcd-writer.js";

const skip = stateEtcdSkipReason();

describe.skipIf(skip !== undefined)("etcdWriter (the lab tests' etcd writer) against a real etcd", () => {
  const root = mkdtempSync(join(tmpdir(), "yagura-etcd-writer-"));
  let etcd: TestEtcd;
  let raw: Etcd3;

  beforeAll(async () => {
    etcd = await startEtcd(
      join(root, "etcd"),
      openPki(join(root, "etcd-pki")),
      ["127.0.0.1"],
      await freePort(),
      await freePort(),
    );
    // Where the writer takes yagura's admin certificate from: the environment's PKI directory.
    const pki = envPaths("w1", join(root, "state")).pkiDir;
    mkdirSync(pki, { recursive: true });
    writeFileSync(join(pki, "etcd-client-ca.crt"), etcd.tls.ca);
    writeFileSync(join(pki, "etcd-admin.crt"), etcd.tls.cert);
    writeFileSync(join(pki, "etcd-admin.key"), etcd.tls.key, { mode: 0o600 });
    raw = new Etcd3({
      hosts: etcd.endpoints,
      grpcOptions: ETCD_GRPC_OPTIONS,
      credentials: {
        rootCertificate: Buffer.from(etcd.tls.ca),
        certChain: Buffer.from(etcd.tls.cert),
        privateKey: Buffer.from(etcd.tls.key),
      },
    });
  }, 60_000);

  afterAll(async () => {
    raw?.close();
    await etcd?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it("reads every acknowledged key back and names the lost and the changed ones", async () => {
    const w = etcdWriter(join(root, "state"), etcd.endpoints, "w1");
    expect(await until(20_000, () => w.acked().length >= 10)).toBe(true);
    const [, lost, , changed] = w.acked();
    await raw.delete().key(lost!);
    await raw.put(changed!).value("-1");
    const r = await w.stop(etcd.endpoints);
    expect(r.acked).toBeGreaterThanOrEqual(10);
    expect(r.failed).toBe(0);
    expect(r.missing).toEqual([lost, changed]);
  }, 60_000);
});
