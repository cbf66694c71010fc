/**
 * Inventory-driven rebuilds end to end in a real lab (bridge ygbr86r, 10.86.0.0/24; real sshd,
 * runit, TLS etcd): grow the control plane 3→5, shrink 5→3, replace a control-plane node and two
 * workers (their directories wiped as a reimage would), each under an etcd writer that must lose no
 * acknowledged write; refusals; and an apply killed with SIGKILL after a journal step, run again.
 * Every apply is the real CLI in a child process. Without Kubernetes binaries the API steps (drain,
 * uncordon) are reported as skipped, which the tests check.
 */
import { describe, expect, it } from "vitest";
import { envPaths } from "../../src/cluster/paths.js";
import { journalPath } from "../../src/rebuild/apply.js";
import { labReimage } from "../../src/lab/index.js";
import { openApply, readJournal } from "../../src/rebuild/journal.js";
import { cli, e2eSkipReason, etcdctl, onNode } from "../e2e/helpers.js";
import {
  addressOf,
  cps,
  ENV,
  etcdMembers,
  etcdURL as url,
  etcdWriter,
  stepsOf,
  useRebuildLab,
  workers,
} from "./lab.js";

const skip = e2eSkipReason();
if (skip) console.warn(skip.replace("etcd e2e", "rebuild e2e"));
if (!skip && !process.env.YAGURA_KUBE_BIN_DIR)
  console.warn(
    "rebuild e2e: YAGURA_KUBE_BIN_DIR unset: no Kubernetes API, so drain and uncordon are checked as skipped",
  );

const urls = (names: string[]) => names.map((n) => url(n));
/** `name started` per member, sorted. */
const members = (via: string) => etcdMembers(stateRoot(), via);
let stateRoot = () => "";

describe.skipIf(skip !== undefined)("inventory-driven rebuilds in the lab", () => {
  const lab = useRebuildLab([...cps(3), ...workers(2)], skip);
  stateRoot = () => lab.state;
  const apply = (onLine?: (l: string) => boolean) => cli(lab.state, ["apply", lab.file, "--scope", "etcd"], onLine);
  const plan = () => cli(lab.state, ["plan", lab.file, "--scope", "etcd"]);
  const on = (n: string, cmd: string) => onNode(lab.state, ENV, addressOf(n), cmd);

  it("a first apply bootstraps etcd and records how every node is built", async () => {
    const r = await apply();
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/add\s+cp1 \(control-plane\)/);
    expect(stepsOf(r.out)).toEqual(["reconcile cp1, cp2, cp3, w1, w2", "record-built"]);
    expect(members("cp1")).toEqual(["cp1 started", "cp2 started", "cp3 started"]);
    const again = await plan();
    expect(again.code, again.out).toBe(0);
    expect(again.out).toMatch(/rebuild: no node to add, remove or replace/);
    expect(again.out).toMatch(/phase: completed/);
  }, 240_000);

  it("grows the control plane 3→5 under a writer: new members join as learners and are promoted", async () => {
    await lab.write([...cps(5), ...workers(2)], { up: true });
    const w = etcdWriter(lab.state, urls(["cp1", "cp2", "cp3"]));
    const r = await apply();
    const got = await w.stop(urls(["cp1", "cp2", "cp3", "cp4", "cp5"]));
    expect(r.code, r.out).toBe(0);
    expect(stepsOf(r.out)).toEqual(["reconcile cp4, cp5", "record-built"]);
    expect(r.out.match(/… etcd-add-member on/g)).toHaveLength(2);
    expect(r.out.match(/… etcd-promote on/g)).toHaveLength(2);
    expect(members("cp4")).toEqual(["cp1 started", "cp2 started", "cp3 started", "cp4 started", "cp5 started"]);
    console.log(`grow 3→5 writer: ${got.acked} acknowledged, ${got.failed} failed, ${got.missing.length} missing`);
    expect(got.acked).toBeGreaterThan(10);
    expect(got.missing).toEqual([]);
  }, 240_000);

  it("refuses to drop half or more of the control plane at once, with the safe alternative", async () => {
    // The inventory rules want an odd control plane; 5→1 is odd and drops 4 of 5.
    await lab.write([...cps(1), ...workers(2)]);
    const p = await plan();
    expect(p.code, p.out).toBe(4);
    expect(p.out).toMatch(/refused: the inventory removes 4 of 5 control-plane members at once/);
    expect(p.out).toMatch(/instead: remove at most 2 now/);
    const a = await apply();
    expect(a.code, a.out).toBe(4);
    expect(a.out).not.toMatch(/^step /m);
    expect(members("cp1")).toHaveLength(5);
  }, 120_000);

  it("shrinks 5→3 under a writer: one member leaves at a time, the removed nodes are released", async () => {
    await lab.write([...cps(3), ...workers(2)]);
    const w = etcdWriter(lab.state, urls(["cp1", "cp2", "cp3"]));
    const r = await apply();
    const got = await w.stop(urls(["cp1", "cp2", "cp3"]));
    expect(r.code, r.out).toBe(0);
    expect(stepsOf(r.out)).toEqual([
      "drain cp4",
      "etcd-leave cp4",
      "drain cp5",
      "etcd-leave cp5",
      "release cp4, cp5",
      "reconcile",
      "record-built",
    ]);
    expect(r.out).toMatch(/- step 1-drain-cp4: no Kubernetes API: drain skipped/);
    expect(members("cp1")).toEqual(["cp1 started", "cp2 started", "cp3 started"]);
    expect((await on("cp4", "ls -d /etc/yagura /var/lib/etcd 2>&1")).stdout).toMatch(/No such file[^]*No such file/);
    expect((await on("cp4", "ls /etc/service")).stdout.trim()).toBe("sshd");
    await lab.write([...cps(3), ...workers(2)], { up: true, prune: true });
    console.log(`shrink 5→3 writer: ${got.acked} acknowledged, ${got.failed} failed, ${got.missing.length} missing`);
    expect(got.acked).toBeGreaterThan(10);
    expect(got.missing).toEqual([]);
  }, 240_000);

  it("refuses to replace a member while another is down (quorum), and says what to do", async () => {
    await on("cp3", "sv -w 20 down /etc/service/etcd");
    try {
      await lab.write([...cps(3, { cp1: "q1" }), ...workers(2)]);
      // On a loaded machine an SSH connect can time out, and an unobserved etcd is refused for that reason instead.
      let p = await plan();
      for (let i = 0; i < 3 && /etcd did not answer/.test(p.out); i++) p = await plan();
      expect(p.code, p.out).toBe(4);
      expect(p.out).toMatch(/refused: replacing cp1 leaves 1 healthy of 2 voters, below the quorum of 2/);
      expect(p.out).toMatch(/instead: repair the unhealthy members first/);
    } finally {
      await on("cp3", "sv up /etc/service/etcd");
      await lab.write([...cps(3), ...workers(2)]);
    }
    for (let i = 0; i < 50 && etcdctl(lab.state, ENV, [url("cp3")], ["endpoint", "health"]).code !== 0; i++)
      await new Promise((r) => setTimeout(r, 200));
  }, 120_000);

  it("replaces a control-plane node under a writer: leave, wipe, rejoin as a new member", async () => {
    const before = etcdctl(lab.state, ENV, [url("cp1")], ["member", "list"]).out;
    await on("cp2", "echo old > /etc/kubernetes/old-image-marker");
    await lab.write([...cps(3, { cp2: "r1" }), ...workers(2)]);
    const w = etcdWriter(lab.state, urls(["cp1", "cp2", "cp3"]));
    const r = await apply();
    const got = await w.stop(urls(["cp1", "cp2", "cp3"]));
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/replace cp2 \(control-plane\): rebuild token "" → "r1"/);
    expect(stepsOf(r.out)).toEqual([
      "drain cp2",
      "etcd-leave cp2",
      "reimage cp2",
      "reconcile cp2",
      "uncordon cp2",
      "record-built",
    ]);
    expect(r.out).toMatch(/- step 5-uncordon-cp2: no Kubernetes API: uncordon skipped/);
    expect((await on("cp2", "cat /etc/kubernetes/old-image-marker 2>&1")).stdout).toMatch(/No such file/);
    expect(members("cp1")).toEqual(["cp1 started", "cp2 started", "cp3 started"]);
    const id = (list: string) => /^(\w+), started, cp2,/m.exec(list)?.[1];
    expect(id(etcdctl(lab.state, ENV, [url("cp1")], ["member", "list"]).out)).not.toBe(id(before));
    console.log(`replace cp2 writer: ${got.acked} acknowledged, ${got.failed} failed, ${got.missing.length} missing`);
    expect(got.acked).toBeGreaterThan(10);
    expect(got.missing).toEqual([]);
    const again = await plan();
    expect(again.out).toMatch(/rebuild: no node to add, remove or replace/);
  }, 240_000);

  it("replaces two workers in one batch (maxConcurrentUpdates 2) under a writer", async () => {
    await on("w1", "mkdir -p /etc/yagura && echo old > /etc/yagura/old-image-marker");
    await on("w2", "mkdir -p /var/lib/kubelet && echo old > /var/lib/kubelet/old-image-marker");
    await lab.write([...cps(3, { cp2: "r1" }), ...workers(2, { w1: "a", w2: "a" })]);
    const w = etcdWriter(lab.state, urls(["cp1", "cp2", "cp3"]));
    const r = await apply();
    const got = await w.stop(urls(["cp1", "cp2", "cp3"]));
    expect(r.code, r.out).toBe(0);
    expect(stepsOf(r.out)).toEqual([
      "drain w1, w2",
      "reimage w1, w2",
      "reconcile w1, w2",
      "uncordon w1, w2",
      "record-built",
    ]);
    expect((await on("w1", "ls /etc/yagura/old-image-marker 2>&1")).stdout).toMatch(/No such file/);
    expect((await on("w2", "ls /var/lib/kubelet/old-image-marker 2>&1")).stdout).toMatch(/No such file/);
    expect(got.missing).toEqual([]);
    expect(got.acked).toBeGreaterThan(5);
  }, 240_000);

  it("an apply killed with SIGKILL after a journal step resumes there and converges", async () => {
    await lab.write([...cps(3, { cp2: "r1", cp3: "k1" }), ...workers(2, { w1: "a", w2: "a" })]);
    const w = etcdWriter(lab.state, urls(["cp1", "cp2", "cp3"]));
    const killed = await apply((l) => /^✓ step 2-etcd-leave-cp3:/.test(l));
    expect(killed.signal, killed.out).toBe("SIGKILL");
    // SIGKILL lands a moment after the line: the next step may have started (or even finished).
    const j = openApply(readJournal(journalPath(envPaths(ENV, lab.state).dir)))!;
    expect(j.finished.has("2-etcd-leave-cp3")).toBe(true);
    expect(j.finished.has("4-reconcile-cp3")).toBe(false);
    const next = j.steps.find((s) => !j.finished.has(s.id))!.id;
    expect(members("cp1")).toEqual(["cp1 started", "cp2 started"]);
    // A different inventory may not take over the interrupted apply.
    await lab.write([...cps(3, { cp2: "r1", cp3: "k2" }), ...workers(2, { w1: "a", w2: "a" })]);
    const other = await apply();
    expect(other.code, other.out).toBe(4);
    expect(other.out).toMatch(/took over a stale lock/);
    expect(other.out).toMatch(new RegExp(`an apply of a different inventory stopped at step ${j.last!.stepId}`));
    await lab.write([...cps(3, { cp2: "r1", cp3: "k1" }), ...workers(2, { w1: "a", w2: "a" })]);
    const r = await apply();
    const got = await w.stop(urls(["cp1", "cp2", "cp3"]));
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(new RegExp(`resuming the interrupted apply \\S+ at step ${next}`));
    const rest = ["reimage cp3", "reconcile cp3", "uncordon cp3", "record-built"];
    expect(stepsOf(r.out)).toEqual(rest.slice(next.startsWith("3-") ? 0 : 1));
    expect(members("cp1")).toEqual(["cp1 started", "cp2 started", "cp3 started"]);
    expect(etcdctl(lab.state, ENV, urls(["cp1", "cp2", "cp3"]), ["endpoint", "health"]).code).toBe(0);
    expect(got.missing).toEqual([]);
    const again = await apply();
    expect(again.code, again.out).toBe(0);
    expect(stepsOf(again.out)).toEqual(["reconcile", "record-built"]);
    expect(again.out).not.toMatch(/… etcd-/);
  }, 300_000);

  it("a node reimaged outside apply (labReimage) is noticed by the next apply and rejoins", async () => {
    await labReimage(ENV, "cp1", { stateRoot: lab.state });
    expect(
      (await on("cp1", "ls -d /etc/yagura /etc/kubernetes /var/lib/etcd 2>&1")).stdout.match(/No such file/g),
    ).toHaveLength(3);
    expect((await on("cp1", "ls /etc/service")).stdout.trim()).toBe("sshd");
    const r = await apply();
    expect(r.code, r.out).toBe(0);
    // Nothing in the inventory changed: the ladder sees the wiped member, removes it and adds it back.
    expect(stepsOf(r.out)).toEqual(["reconcile", "record-built"]);
    expect(r.out).toMatch(/… etcd-remove-member on cp1/);
    expect(r.out).toMatch(/… etcd-add-member on cp1/);
    expect(members("cp2")).toEqual(["cp1 started", "cp2 started", "cp3 started"]);
  }, 240_000);
});
