/**
 * `yagura apply --state etcd://…` end to end in a real lab (bridge ygbr91s, 10.91.0.0/24; real
 * sshd, runit, TLS etcd) with a real etcd on loopback as the shared store: an apply in progress
 * holds the environment against any other instance, an apply waits for a `reconcile --watch` that
 * leads, and an apply killed with SIGKILL is resumed from the journal in the store (none is local).
 * Every command is the real CLI in a child process.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { envPaths } from "../../src/cluster/paths.js";
import { clusterSpec } from "../../src/cluster/spec.js";
import { loadInventory } from "../../src/inventory/load.js";
import { labDown, labUp } from "../../src/lab/index.js";
import { openApply } from "../../src/rebuild/journal.js";
import { etcdBackend } from "../../src/state/etcd/backend.js";
import { readEtcdJournal } from "../../src/state/etcd/journal.js";
import { parseStateLocation, stateKeys } from "../../src/state/location.js";
import { cli, e2eSkipReason, until, type LineVerdict } from "../e2e/helpers.js";
import { newStateKey, startStateEtcd, stateEtcdSkipReason, type StateEtcd } from "../state/state-etcd.js";

const base = e2eSkipReason() ?? stateEtcdSkipReason();
const skip = base ? `apply --state e2e skipped: ${base}` : undefined;
if (skip) console.warn(skip);

const ENV = "rs91";
const TTL = 3;

/** The inventory: one control-plane node and one worker, the worker's rebuild token as given. */
const inventoryText = (workerToken: string) =>
  [
    `cluster: { name: ${ENV}, kubernetesVersion: '1.33.5' }`,
    "lab: { bridge: ygbr91s, cidr: 10.91.0.0/24 }",
    "staticNodes:",
    "  - { name: cp1, address: 10.91.0.11, role: control-plane }",
    `  - { name: w1, address: 10.91.0.21, role: worker, rebuildToken: '${workerToken}' }`,
    "networking: { calico: { routeReflectors: { enabled: false } } }",
    "",
  ].join("\n");

describe.skipIf(skip !== undefined)("apply with an etcd --state in the lab (real CLI, real etcd)", () => {
  const root = skip ? "" : mkdtempSync(join(tmpdir(), "yagura-apply-state-e2e-"));
  const state = join(root, "state");
  const file = join(root, `${ENV}.yaml`);
  const key = newStateKey();
  const keys = stateKeys("/yagura", ENV);
  const children: { kill(s: NodeJS.Signals): boolean; exitCode: number | null; signalCode: string | null }[] = [];
  let store: StateEtcd;

  const spec = () => {
    const r = loadInventory(file);
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    return clusterSpec(r.env, r.inventory);
  };
  /** The CLI with the store as its state; `onLine` may return "kill" (SIGKILL) or "term" (SIGTERM). */
  const yagura = (args: string[], onLine?: (l: string, pid: number) => LineVerdict) =>
    cli(
      state,
      [
        ...args,
        `--state=etcd://${store.hostPort}?ttl=${TTL}s`,
        `--state-ca=${store.tls.ca}`,
        `--state-cert=${store.tls.cert}`,
        `--state-key=${store.tls.key}`,
      ],
      onLine,
      { env: { YAGURA_STATE_KEY: key }, spawned: (c) => children.push(c) },
    );
  const other = () => {
    const loc = parseStateLocation(`etcd://${store.hostPort}?ttl=${TTL}s`, store.tls);
    if (loc.kind !== "etcd") throw new Error("expected an etcd location");
    return etcdBackend(ENV, loc, { YAGURA_STATE_KEY: key });
  };
  const local = (f: string) => existsSync(join(envPaths(ENV, state).dir, f));
  const localJournal = () => local("rebuild-journal.jsonl");
  /** The build record the store keeps: node → rebuild token. */
  const builtTokens = async () => {
    const doc = await store.raw.get(`${keys.documents}rebuild-built.json`).string();
    const nodes = (JSON.parse(doc ?? "{}") as { nodes?: Record<string, { built: { rebuildToken: string } }> }).nodes;
    return Object.fromEntries(Object.entries(nodes ?? {}).map(([n, r]) => [n, r.built.rebuildToken]));
  };

  beforeAll(async () => {
    store = await startStateEtcd();
    writeFileSync(file, inventoryText("a"));
    await labUp(spec(), { stateRoot: state, pauseImage: false });
  }, 180_000);
  afterAll(async () => {
    if (skip) return;
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    await labDown(ENV, { stateRoot: state }).catch(() => undefined);
    await store?.stop();
    rmSync(root, { recursive: true, force: true });
  }, 120_000);

  it("an apply in progress holds the environment; an apply waits for a leading reconcile --watch", async () => {
    const b = other();
    let refused: unknown;
    let asked = false;
    const first = await yagura(["apply", file, "--scope", "etcd"], (l, pid) => {
      // Mid-step (etcd is being bootstrapped): another instance asks for the environment.
      if (!asked && /^step 1-reconcile-/.test(l)) {
        asked = true;
        b.acquire({ waitMs: 0 }).then(
          (h) => ((refused = new Error(`acquired while apply ${pid} ran`)), h.close()),
          (err: Error) => (refused = err),
        );
      }
    });
    expect(first.code, first.out).toBe(0);
    expect(first.out).toMatch(/^leading etcd:\/\/\S+ with token \d+$/m);
    expect(first.out).toMatch(/^apply completed: 2 step\(s\)$/m);
    // The build record is in the store, where the next plan (on any machine) compares with it.
    expect(await builtTokens()).toEqual({ cp1: "", w1: "a" });
    expect(local("rebuild-built.json")).toBe(false);
    await until(10_000, () => refused !== undefined);
    expect(String(refused)).toMatch(
      new RegExp(`${ENV} is led by ${hostname()}:${first.pid} since .* \\(token \\d+\\)`),
    );
    await b.close();

    // The other way round: a watch leads, an apply with --wait stands by until it goes.
    let leading = false;
    const watch = yagura(["reconcile", file, "--scope", "etcd", "--watch", "--interval", "2s"], (l) => {
      leading ||= /^leading /.test(l);
    });
    expect(await until(60_000, () => leading)).toBe(true);
    const watchChild = children.at(-1)!;
    let standing = "";
    const second = yagura(["apply", file, "--scope", "etcd", "--wait", "120"], (l) => {
      if (/^standing by:/.test(l)) standing = l;
    });
    expect(await until(60_000, () => standing !== "")).toBe(true);
    watchChild.kill("SIGTERM");
    const w = await watch;
    expect(w.code, w.out).toBe(0);
    expect(standing).toMatch(new RegExp(`is led by ${hostname()}:${w.pid} \\(token \\d+\\)`));
    const r = await second;
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/rebuild: no node to add, remove or replace/);
    expect(r.out).toMatch(/^apply completed/m);
    expect(localJournal()).toBe(false);
  }, 300_000);

  it("an apply killed with SIGKILL mid-apply is resumed from the journal in the store", async () => {
    writeFileSync(file, inventoryText("b"));
    const killed = await yagura(["apply", file, "--scope", "etcd"], (l) =>
      /^- step 1-drain-w1:/.test(l) ? "kill" : undefined,
    );
    expect(killed.signal, killed.out).toBe("SIGKILL");
    const open = openApply(await readEtcdJournal(store.raw, keys.journal))!;
    expect(open.steps.map((s) => s.id)).toEqual([
      "1-drain-w1",
      "2-reimage-w1",
      "3-reconcile-w1",
      "4-uncordon-w1",
      "5-record-built",
    ]);
    // The replace of w1 was planned from the store's build record ("a"), not a local file.
    expect(local("rebuild-built.json")).toBe(false);
    expect(open.finished.has("1-drain-w1")).toBe(true);
    const next = open.steps.find((s) => !open.finished.has(s.id))!.id;
    expect(localJournal()).toBe(false);

    // The killed apply's lease runs out within the ttl; --wait rides that out.
    const r = await yagura(["apply", file, "--scope", "etcd", "--wait", "30"]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(new RegExp(`resuming the interrupted apply ${open.applyId} at step ${next}`));
    expect(r.out).not.toMatch(/^step 1-drain-w1/m);
    expect(r.out).toMatch(/^apply completed: 5 step\(s\)$/m);
    expect(openApply(await readEtcdJournal(store.raw, keys.journal))).toBeUndefined();
    expect(await builtTokens()).toEqual({ cp1: "", w1: "b" });
    const again = await yagura(["plan", file, "--scope", "etcd"]);
    expect(again.out).toMatch(/rebuild: no node to add, remove or replace/);
    expect(again.out).toMatch(/phase: completed/);
  }, 300_000);
});
