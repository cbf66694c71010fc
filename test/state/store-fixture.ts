/**
 * The state tests' store fixture, apart from state-etcd.ts because it uses vitest's hooks (the
 * benchmarks start stores too, outside vitest).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { etcdBackend } from "../../src/state/etcd/backend.js";
import { parseStateLocation } from "../../src/state/location.js";
import type { StateBackend } from "../../src/state/types.js";
import { newStateKey, startStateEtcd, type StateEtcd } from "./state-etcd.js";

/**
 * One store for a describe block (started before its tests, stopped after them), and backends on
 * it, each with its own client as another yagura instance would have; `prefix()` gives each test
 * its own key space.
 */
export function useStateStore(ttlSeconds: number, env = "env1") {
  const key = newStateKey();
  const opened: StateBackend[] = [];
  let started: StateEtcd | undefined;
  let n = 0;
  beforeAll(async () => {
    started = await startStateEtcd();
  });
  afterAll(async () => {
    for (const b of opened) await b.close().catch(() => undefined);
    await started?.stop();
  });
  const store = (): StateEtcd => {
    if (!started) throw new Error("the state store starts in beforeAll: use it inside a test");
    return started;
  };
  return {
    key,
    store,
    prefix: (tag = "t") => `/${tag}${++n}`,
    /**
     * Another yagura instance: runs the test/state script `script` on the store at `url` (its TLS
     * files follow as arguments), in a child process whose output accumulates in `out`.
     */
    instance(script: string, url: string): { child: ChildProcess; out: () => string; exited: Promise<unknown> } {
      const { ca, cert, key: tlsKey } = store().tls;
      const child = spawn(
        process.execPath,
        ["--import", "tsx", join(import.meta.dirname, script), url, ca, cert, tlsKey],
        {
          env: { ...process.env, YAGURA_STATE_KEY: key, NODE_NO_WARNINGS: "1" },
          stdio: ["ignore", "pipe", "pipe"],
        },
      );
      let out = "";
      child.stdout.on("data", (d: Buffer) => (out += d.toString()));
      child.stderr.on("data", (d: Buffer) => (out += d.toString()));
      return { child, out: () => out, exited: new Promise((r) => child.once("exit", r)) };
    },
    /** Closes `b` with the store: a backend a test opened by hand. */
    track(b: StateBackend): StateBackend {
      opened.push(b);
      return b;
    },
    backend(prefix: string, stateKey = key): StateBackend {
      const loc = parseStateLocation(`etcd://${store().hostPort}?ttl=${ttlSeconds}s&prefix=${prefix}`, store().tls);
      if (loc.kind !== "etcd") throw new Error("expected an etcd location");
      const b = etcdBackend(env, loc, { YAGURA_STATE_KEY: stateKey });
      opened.push(b);
      return b;
    },
  };
}

/** True when `fn` throws (for waiting until a holder notices it lost the lead). */
export function throws(fn: () => void): boolean {
  try {
    fn();
    return false;
  } catch {
    return true;
  }
}
