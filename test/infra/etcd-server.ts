/**
 * A real TLS etcd cluster for tests, from Debian's /usr/bin/etcd, with certificates from yagura's
 * own PKI: peer and client trust on separate CAs, client certificates required on both ports.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { join } from "node:path";
import { createEtcdAdmin } from "../../src/infra/etcd.js";
import type { EtcdTls } from "../../src/infra/types.js";
import { etcdAdminClient, etcdMemberCerts, type Pki } from "../../src/pki/index.js";

export interface TestEtcd {
  readonly endpoints: string[];
  readonly tls: EtcdTls;
  /** Output of member `i` (for failure messages). */
  log(i: number): string;
  stop(): Promise<void>;
}

const DAY = 24 * 60 * 60 * 1000;

/** Spawns one member process with certificates already in `pki` (named after `node.name`). */
export function spawnMember(
  dir: string,
  pki: Pki,
  n: { name: string; address: string },
  cluster: string,
  state: "new" | "existing",
  clientPort: number,
  peerPort: number,
  onLog: (text: string) => void,
): ChildProcess {
  const data = join(dir, n.name);
  mkdirSync(data, { recursive: true, mode: 0o700 });
  const p = (f: string) => join(pki.dir, f);
  const child = spawn(
    "/usr/bin/etcd",
    [
      `--name=${n.name}`,
      `--data-dir=${join(data, "member-data")}`,
      `--listen-client-urls=https://${n.address}:${clientPort}`,
      `--advertise-client-urls=https://${n.address}:${clientPort}`,
      `--listen-peer-urls=https://${n.address}:${peerPort}`,
      `--initial-advertise-peer-urls=https://${n.address}:${peerPort}`,
      `--initial-cluster=${cluster}`,
      `--initial-cluster-state=${state}`,
      "--initial-cluster-token=yagura-test",
      `--cert-file=${p(`etcd-server-${n.name}.crt`)}`,
      `--key-file=${p(`etcd-server-${n.name}.key`)}`,
      `--trusted-ca-file=${p("etcd-client-ca.crt")}`,
      "--client-cert-auth",
      `--peer-cert-file=${p(`etcd-peer-${n.name}.crt`)}`,
      `--peer-key-file=${p(`etcd-peer-${n.name}.key`)}`,
      `--peer-trusted-ca-file=${p("etcd-peer-ca.crt")}`,
      "--peer-client-cert-auth",
      "--logger=zap",
      "--log-level=warn",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  child.stderr!.on("data", (b: Buffer) => onLog(b.toString()));
  return child;
}

/** Stops a member we spawned (by its handle) and waits for it to exit. */
export async function stopMember(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return;
  const done = new Promise((r) => c.once("exit", r));
  c.kill("SIGTERM");
  await done;
}

/** Starts one etcd member per address on `clientPort`/`peerPort` and waits until every one is healthy. */
export async function startEtcd(
  dir: string,
  pki: Pki,
  addresses: string[],
  clientPort: number,
  peerPort: number,
): Promise<TestEtcd> {
  const now = new Date();
  const nodes = addresses.map((address, i) => ({ name: `etcd${i + 1}`, address }));
  const cluster = nodes.map((n) => `${n.name}=https://${n.address}:${peerPort}`).join(",");
  for (const n of nodes) await etcdMemberCerts(pki, n, now, DAY);
  const admin = await etcdAdminClient(pki, now, DAY);
  const logs: string[] = nodes.map(() => "");
  const children = nodes.map((n, i) =>
    spawnMember(dir, pki, n, cluster, "new", clientPort, peerPort, (t) => (logs[i] = (logs[i] + t).slice(-4000))),
  );
  const endpoints = nodes.map((n) => `https://${n.address}:${clientPort}`);
  const tls = { ca: admin.caPem, cert: admin.certPem, key: admin.keyPem };
  const stop = async () => {
    await Promise.all(children.map(stopMember));
  };
  const probe = createEtcdAdmin(endpoints, tls, { statusTimeoutMs: 1000 });
  try {
    for (let attempt = 0; ; attempt++) {
      const dead = children.findIndex((c) => c.exitCode !== null);
      if (dead >= 0) throw new Error(`etcd member ${dead + 1} exited: ${logs[dead]}`);
      const s = await Promise.all(endpoints.map((e) => probe.endpointStatus(e)));
      if (s.every((x) => x.healthy)) break;
      if (attempt > 150) throw new Error(`etcd not healthy: ${JSON.stringify(s)}\n${logs.join("\n")}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  } catch (err) {
    await stop();
    throw err;
  } finally {
    await probe.close();
  }
  return { endpoints, tls, log: (i) => logs[i] ?? "", stop };
}

/** A TCP port free on `host` right now (the kernel's pick), so parallel test files never collide. */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once("error", rej);
    s.listen(0, host, () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => res(port));
    });
  });
}
