/**
 * The etcd state backend on a real one-member etcd on loopback: the hand-over time after a kill -9
 * of the leading process for several lease TTLs, the latency of a fenced record write, and the cost
 * of lending the sealed PKI to a pass. Prints figures; asserts nothing. Needs /usr/bin/etcd.
 *
 *   npx tsx bench/state.ts
 */
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { openPki } from "../src/pki/index.js";
import { etcdBackend } from "../src/state/etcd/backend.js";
import { parseStateLocation } from "../src/state/location.js";
import { newStateKey, startStateEtcd, stateEtcdSkipReason, type StateEtcd } from "../test/state/state-etcd.js";

const HOLDER = resolve(import.meta.dirname, "../test/state/holder-process.ts");
const key = newStateKey();

const backendAt = (store: StateEtcd, url: string) => {
  const loc = parseStateLocation(url, store.tls);
  if (loc.kind !== "etcd") throw new Error("expected an etcd URL");
  return etcdBackend("env1", loc, { YAGURA_STATE_KEY: key });
};

/** Seconds from kill -9 of a leading process to a standby leading. */
async function handover(store: StateEtcd, ttl: number, trial: number): Promise<number> {
  const url = `etcd://${store.hostPort}?ttl=${ttl}s&prefix=/bench-${ttl}-${trial}`;
  const child = spawn(process.execPath, ["--import", "tsx", HOLDER, url, store.tls.ca, store.tls.cert, store.tls.key], {
    env: { ...process.env, YAGURA_STATE_KEY: key, NODE_NO_WARNINGS: "1" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  await new Promise<void>((res, rej) => {
    child.stdout!.on("data", (d: Buffer) => /^leading /m.test(d.toString()) && res());
    child.once("exit", () => rej(new Error("the holder process exited before leading")));
  });
  const standby = backendAt(store, url);
  const elected = standby.acquire({ waitMs: Infinity });
  await new Promise((r) => setTimeout(r, 500));
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGKILL");
  await exited;
  const t0 = performance.now();
  const h = await elected;
  const s = (performance.now() - t0) / 1000;
  await h.close();
  await standby.close();
  return s;
}

const fmt = (xs: number[]) => {
  const v = [...xs].sort((a, b) => a - b);
  return `min ${v[0]!.toFixed(1)} s, median ${v[Math.floor(v.length / 2)]!.toFixed(1)} s, max ${v.at(-1)!.toFixed(1)} s`;
};

async function main(): Promise<void> {
  const skip = stateEtcdSkipReason();
  if (skip) return console.log(skip);
  const store = await startStateEtcd();
  try {
    for (const [ttl, trials] of [
      [3, 3],
      [5, 3],
      [15, 2],
    ] as const) {
      const xs: number[] = [];
      for (let i = 0; i < trials; i++) xs.push(await handover(store, ttl, i));
      console.log(`hand-over after kill -9, lease ttl ${ttl} s (${trials} trials): ${fmt(xs)}`);
    }

    const b = backendAt(store, `etcd://${store.hostPort}?prefix=/bench-writes`);
    const h = await b.acquire();
    const n = 200;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const r = h.records.start("bench-op", ["node1"], "bench");
      await h.records.fence!();
      h.records.update(r, { status: "succeeded", endedAt: new Date().toISOString() });
    }
    await h.records.fence!();
    console.log(`fenced record writes: ${((performance.now() - t0) / (2 * n)).toFixed(2)} ms each (${2 * n} writes)`);

    const now = new Date();
    const t1 = performance.now();
    await h.withPki(async (dir) => {
      const pki = openPki(dir);
      for (const kind of ["etcd-peer", "etcd-client", "kubernetes", "front-proxy"] as const)
        await pki.ensureCA(kind, now);
      for (let i = 0; i < 40; i++)
        await pki.issue(
          "kubernetes",
          { name: `leaf-${i}`, commonName: `leaf-${i}`, dnsNames: [], ipAddresses: [], usages: ["client"] },
          now,
        );
    });
    console.log(
      `issuing 4 CAs + 40 leaves into the lent PKI and writing back 88 sealed files: ${(performance.now() - t1).toFixed(0)} ms`,
    );
    const t2 = performance.now();
    const rounds = 10;
    for (let i = 0; i < rounds; i++) await h.withPki(async () => undefined);
    console.log(
      `lending the sealed PKI to a pass, unchanged (pull, open, compare): ${((performance.now() - t2) / rounds).toFixed(0)} ms`,
    );
    await h.close();
    await b.close();
  } finally {
    await store.stop();
  }
}

await main();
