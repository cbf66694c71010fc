/** A one-member TLS etcd on loopback (ephemeral ports) as the shared state store of the state tests. */
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { Etcd3 } from "etcd3";
import { openPki } from "../../src/pki/index.js";
import { freePort, startEtcd, type TestEtcd } from "../infra/etcd-server.js";

/** Why the state tests cannot run here, or undefined. */
export function stateEtcdSkipReason(): string | undefined {
  return existsSync("/usr/bin/etcd")
    ? undefined
    : "state tests skipped: /usr/bin/etcd missing (apt-get install etcd-server)";
}

/** A running store: its URL host list, the client TLS files and a raw client for inspecting keys. */
export interface StateEtcd {
  readonly hostPort: string;
  readonly tls: { ca: string; cert: string; key: string };
  readonly raw: Etcd3;
  readonly etcd: TestEtcd;
  stop(): Promise<void>;
}

/** Starts the store; its files live in a fresh temp dir that stop() removes. */
export async function startStateEtcd(): Promise<StateEtcd> {
  const dir = await mkdtemp(join(tmpdir(), "yagura-state-etcd-"));
  const [client, peer] = [await freePort(), await freePort()];
  const etcd = await startEtcd(dir, openPki(join(dir, "pki")), ["127.0.0.1"], client, peer);
  await mkdir(join(dir, "tls"), { mode: 0o700 });
  const tls = { ca: join(dir, "tls/ca.crt"), cert: join(dir, "tls/client.crt"), key: join(dir, "tls/client.key") };
  await writeFile(tls.ca, etcd.tls.ca);
  await writeFile(tls.cert, etcd.tls.cert);
  await writeFile(tls.key, etcd.tls.key, { mode: 0o600 });
  const raw = new Etcd3({
    hosts: etcd.endpoints,
    credentials: {
      rootCertificate: Buffer.from(etcd.tls.ca),
      certChain: Buffer.from(etcd.tls.cert),
      privateKey: Buffer.from(etcd.tls.key),
    },
  });
  return {
    hostPort: `127.0.0.1:${client}`,
    tls,
    raw,
    etcd,
    async stop() {
      raw.close();
      await etcd.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A fresh random state key, base64. */
export const newStateKey = () => randomBytes(32).toString("base64");
