/**
 * `yagura plan` and `apply` with an etcd --state, as the real CLI in child processes against a real
 * etcd on loopback. The inventory's one node sits on a loopback address whose SSH port is closed,
 * so every apply stops at its reconcile step (unreachable) after having held the environment:
 * enough to see who may hold it, where the journal and PKI go, and that another machine resumes.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { envPaths } from "../../src/cluster/paths.js";
import { openApply } from "../../src/rebuild/journal.js";
import { etcdBackend } from "../../src/state/etcd/backend.js";
import { readEtcdJournal } from "../../src/state/etcd/journal.js";
import type { StateBackend } from "../../src/state/index.js";
import { parseStateLocation, stateKeys } from "../../src/state/location.js";
import { freePort } from "../infra/etcd-server.js";
import { cli, until } from "../e2e/helpers.js";
import { newStateKey, startStateEtcd, stateEtcdSkipReason, type StateEtcd } from "./state-etcd.js";

const skip = stateEtcdSkipReason();
if (skip) console.warn(skip.replace("state tests", "apply --state tests"));

const TTL = 3;
const PREFIX = "/apply";

describe.skipIf(skip !== undefined)("plan and apply with an etcd --state (real CLI, real etcd)", () => {
  let store: StateEtcd;
  let root = "";
  const key = newStateKey();
  const opened: StateBackend[] = [];
  const file = () => join(root, "env1.yaml");
  /** The state directories of two machines sharing the store. */
  const machine = (m: "a" | "b") => join(root, `state-${m}`);
  const keys = stateKeys(PREFIX, "env1");

  const backend = () => {
    const loc = parseStateLocation(`etcd://${store.hostPort}?ttl=${TTL}s&prefix=${PREFIX}`, store.tls);
    if (loc.kind !== "etcd") throw new Error("expected an etcd location");
    const b = etcdBackend("env1", loc, { YAGURA_STATE_KEY: key });
    opened.push(b);
    return b;
  };
  /** The CLI on machine `m`; `onLine` sees each line as it comes. */
  const yagura = (m: "a" | "b", args: string[], onLine?: (l: string) => void) =>
    cli(
      machine(m),
      [
        ...args,
        file(),
        "--scope",
        "etcd",
        `--state=etcd://${store.hostPort}?ttl=${TTL}s&prefix=${PREFIX}`,
        `--state-ca=${store.tls.ca}`,
        `--state-cert=${store.tls.cert}`,
        `--state-key=${store.tls.key}`,
      ],
      // Only watches the lines: never asks cli() to signal the child.
      (l) => void onLine?.(l),
      { env: { YAGURA_STATE_KEY: key } },
    );
  const local = (m: "a" | "b", f: string) => existsSync(join(envPaths("env1", machine(m)).dir, f));

  beforeAll(async () => {
    store = await startStateEtcd();
    root = mkdtempSync(join(tmpdir(), "yagura-apply-state-"));
    // Each machine has its operator key (a missing one stops a run before any node is asked).
    for (const m of ["a", "b"] as const) {
      const key = envPaths("env1", machine(m)).sshKey;
      mkdirSync(dirname(key), { recursive: true, mode: 0o700 });
      execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", `machine-${m}`, "-f", key]);
    }
    // Nothing listens on this port: SSH is refused at once, and no traffic leaves loopback.
    writeFileSync(
      file(),
      [
        "cluster: { name: env1, kubernetesVersion: '1.33.5' }",
        `ssh: { port: ${await freePort()} }`,
        "staticNodes:",
        "  - { name: cp1, address: 127.0.0.2, role: control-plane, kind: vm }",
        "networking: { calico: { routeReflectors: { enabled: false } } }",
        // The node never answers: stop at once instead of observing it again for 75 s.
        "reconciler: { unreachableWait: 0s }",
        "",
      ].join("\n"),
    );
  });
  afterAll(async () => {
    for (const b of opened) await b.close().catch(() => undefined);
    await store?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it("while another instance leads the environment, apply and reconcile are refused and plan is not; apply --wait leads once it goes", async () => {
    const other = await backend().acquire();
    const led = new RegExp(`env1 is led by .+ \\(token ${other.token}\\) in the state store`);

    const apply = await yagura("a", ["apply"]);
    expect(apply.code, apply.out).toBe(4);
    expect(apply.out).toMatch(led);
    expect(apply.out).not.toMatch(/^step /m);
    const reconcile = await yagura("a", ["reconcile"]);
    expect(reconcile.code, reconcile.out).toBe(4);
    expect(reconcile.out).toMatch(led);

    // plan takes no lock, and reads the PKI from the store into a private copy.
    const plan = await yagura("a", ["plan"]);
    expect(plan.out).not.toMatch(/is led by/);
    expect(plan.out).toMatch(/add +cp1 \(control-plane\)/);
    expect(plan.out).toMatch(/phase: etcd-bootstrap-aborted/);
    expect(local("a", "pki")).toBe(false);
    expect(await store.raw.getAll().prefix(keys.secrets).keys()).toEqual([]);

    let standing = false;
    const waiting = yagura(
      "a",
      ["apply", "--wait", "60"],
      (l) => (standing ||= /^standing by: env1 is led by/.test(l)),
    );
    expect(await until(30_000, () => standing)).toBe(true);
    await other.close();
    const r = await waiting;
    const took = new RegExp(`^leading env1 in etcd://\\S+ with token (\\d+) after .+ \\(token ${other.token}\\)`, "m");
    const token = Number(took.exec(r.out)?.[1]);
    expect(token, r.out).toBeGreaterThan(other.token);
    // It held the environment and ran its plan up to the unreachable node.
    expect(r.out).toMatch(/^step 1-reconcile-cp1: reconcile cp1/m);
    expect(r.out).toMatch(/✗ step 1-reconcile-cp1: reconcile stopped at etcd-bootstrap-aborted/);
    expect(r.code, r.out).toBe(4);
    // It let go on the way out, error or not.
    expect(await store.raw.get(keys.leader).string()).toBeNull();
  }, 120_000);

  it("keeps the journal and the PKI in the store, so an apply on another machine resumes the interrupted one", async () => {
    const lines = await readEtcdJournal(store.raw, keys.journal);
    const open = openApply(lines)!;
    expect(open.last).toEqual({
      stepId: "1-reconcile-cp1",
      status: "failed",
      message: expect.stringMatching(/etcd-bootstrap-aborted/),
    });
    for (const f of ["rebuild-journal.jsonl", "lock", "records.jsonl", "pki"]) expect(local("a", f), f).toBe(false);
    const secrets = await store.raw.getAll().prefix(keys.secrets).keys();
    expect(secrets).toContain(`${keys.secrets}etcd-admin.crt`);
    expect(secrets).toContain(`${keys.secrets}etcd-client-ca.key`);

    const plan = await yagura("b", ["plan"]);
    expect(plan.out).toMatch(
      new RegExp(`an interrupted apply ${open.applyId} is open at step 1-reconcile-cp1: apply resumes it`),
    );
    const r = await yagura("b", ["apply"]);
    expect(r.out).toMatch(new RegExp(`resuming the interrupted apply ${open.applyId} at step 1-reconcile-cp1`));
    expect(r.out).not.toMatch(/^rebuild: /m);
    expect(r.code, r.out).toBe(4);
    const after = await readEtcdJournal(store.raw, keys.journal);
    expect(after.length).toBeGreaterThan(lines.length);
    expect(new Set(after.slice(lines.length).map((l) => l.token)).size).toBe(1);
    expect(after.at(-1)!.token).toBeGreaterThan(lines.at(-1)!.token);
    expect(local("b", "rebuild-journal.jsonl")).toBe(false);
  }, 120_000);
});
