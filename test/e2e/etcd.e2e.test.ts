/**
 * The etcd rungs end to end in a real lab (own bridge ygbr79e, 10.79.0.0/24): bring-up of a
 * 3-member TLS etcd, a no-op second run, drift repair, growing to 4 and back under a writer, and
 * a reconciler killed in the middle of an op, and nodes pinned by the host keys yagura issued.
 * Every reconcile is the real CLI in a child process.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { envPaths } from "../../src/cluster/paths.js";
import { labUp } from "../../src/lab/index.js";
import { createEtcdAdmin } from "../../src/infra/etcd.js";
import { readHostKey } from "../../src/pki/host-keys.js";
import { readRecords } from "../../src/run/records.js";
import { prepareMaterial } from "../../src/run/material.js";
import { cli, e2eSkipReason, etcdctl, onNode, opsOf, useLab } from "./helpers.js";

const skip = e2eSkipReason();
if (skip) console.warn(skip);

const ENV = "e79";
const THREE: [string, string][] = [
  ["node1", "10.79.0.11"],
  ["node2", "10.79.0.12"],
  ["node3", "10.79.0.13"],
];
// The inventory only accepts an odd control plane, so growth goes 3 → 5 (through 4, one learner at a time).
const FIVE: [string, string][] = [...THREE, ["node4", "10.79.0.14"], ["node5", "10.79.0.15"]];
/** Ops run, without the transitional waits a pass may insert while a member starts. */
const changes = (out: string) => opsOf(out).filter((o) => o !== "etcd-wait");
const url = (a: string) => `https://${a}:2379`;
const ALL3 = THREE.map(([, a]) => url(a));

describe.skipIf(skip !== undefined)("etcd rungs in the lab (real sshd, runit, etcd)", () => {
  const lab = useLab({
    inventory: { env: ENV, bridge: "ygbr79e", cidr: "10.79.0.0/24", nodes: THREE },
    tmpPrefix: "etcd",
    skip,
  });
  const { state, spec } = lab;
  const file = () => lab.file;
  const reconcile = (onLine?: (l: string) => boolean) => cli(state, ["reconcile", file(), "--scope", "etcd"], onLine);
  const node = (address: string, cmd: string) => onNode(state, ENV, address, cmd);

  it("forms a 3-member TLS etcd with client-certificate auth from an empty lab", async () => {
    const r = await reconcile();
    expect(r.code, r.out).toBe(0);
    // The last rung takes the first scheduled snapshot of the new cluster (test/snapshot covers it).
    expect(changes(r.out)).toEqual(["etcd-certs", "etcd-files", "etcd-bootstrap", "etcd-snapshot"]);
    const health = etcdctl(state, ENV, ALL3, ["endpoint", "health"]);
    expect(health.code, health.out).toBe(0);
    expect(health.out.match(/is healthy/g)).toHaveLength(3);
    const list = etcdctl(state, ENV, ALL3.slice(0, 1), ["member", "list"]);
    expect(list.out.match(/started/g)).toHaveLength(3);
    // Without a client certificate the cluster refuses.
    const anon = await node(
      "10.79.0.11",
      "ETCDCTL_API=3 etcdctl --endpoints=https://10.79.0.11:2379 --cacert=/etc/kubernetes/pki/etcd/ca.crt --command-timeout=2s get x",
    );
    expect(anon.code).not.toBe(0);
    const key = await node(
      "10.79.0.12",
      "stat -c %a /etc/kubernetes/pki/etcd/server.key /etc/kubernetes/pki/etcd/peer.key",
    );
    expect(key.stdout.trim().split("\n")).toEqual(["600", "600"]);
  }, 120_000);

  it("a second run does nothing and says completed", async () => {
    const r = await reconcile();
    expect(r.code, r.out).toBe(0);
    expect(opsOf(r.out)).toEqual([]);
    expect(r.out).toMatch(/completed after 1 pass\(es\), 0 op\(s\)/);
  }, 60_000);

  it("plan and status change nothing and report the cluster", async () => {
    const p = await cli(state, ["plan", file(), "--scope", "etcd"]);
    expect(p.code, p.out).toBe(0);
    expect(p.out).toMatch(/phase: completed/);
    const s = await cli(state, ["status", file(), "--json"]);
    expect(s.code, s.out).toBe(0);
    const j = JSON.parse(s.out.slice(s.out.indexOf("{")));
    expect(j.conditions.etcd[0]).toMatchObject({ type: "EtcdHealthy", status: "True" });
    expect(j.status.nodes.node1.services.etcd.running).toBe(true);
  }, 60_000);

  it("repairs drift: killed and stopped etcd, edited run script, deleted certificate", async () => {
    // kill -9 of the recorded pid: runit restarts it by itself.
    const pid1 = (await node("10.79.0.11", "cat /etc/service/etcd/supervise/pid")).stdout.trim();
    await node("10.79.0.11", `kill -9 ${pid1}; sleep 1.5; cat /etc/service/etcd/supervise/pid`);
    let r = await reconcile();
    expect(r.code, r.out).toBe(0);
    expect(opsOf(r.out)).toEqual([]);

    await node("10.79.0.12", "sv -w 10 down /etc/service/etcd");
    r = await reconcile();
    expect(r.code, r.out).toBe(0);
    expect(opsOf(r.out)).toEqual(["etcd-start"]);

    await node("10.79.0.13", "echo '# drift-marker-79' >> /etc/yagura/sv/etcd/run");
    r = await reconcile();
    expect(r.code, r.out).toBe(0);
    expect(opsOf(r.out)).toEqual(["etcd-files", "etcd-restart"]);
    expect((await node("10.79.0.13", "grep -c drift-marker-79 /etc/yagura/sv/etcd/run")).stdout.trim()).toBe("0");

    await node("10.79.0.11", "rm /etc/kubernetes/pki/etcd/server.crt");
    r = await reconcile();
    expect(r.code, r.out).toBe(0);
    expect(opsOf(r.out)).toEqual(["etcd-certs"]);
    expect(etcdctl(state, ENV, ALL3, ["endpoint", "health"]).code).toBe(0);
  }, 180_000);

  it("a wiped data dir: the member is removed and re-added as a learner, quorum kept", async () => {
    await node("10.79.0.12", "sv -w 10 down /etc/service/etcd && rm -rf /var/lib/etcd/member");
    const before = etcdctl(state, ENV, ALL3.slice(0, 1), ["put", "before-wipe", "1"]);
    expect(before.code, before.out).toBe(0);
    const r = await reconcile();
    expect(r.code, r.out).toBe(0);
    expect(changes(r.out)).toEqual(["etcd-remove-member", "etcd-add-member", "etcd-promote"]);
    const got = etcdctl(
      state,
      ENV,
      [url("10.79.0.12")],
      ["get", "before-wipe", "--print-value-only", "--consistency=s"],
    );
    expect(got.out.trim()).toBe("1");
    expect(etcdctl(state, ENV, ALL3, ["endpoint", "health"]).code).toBe(0);
  }, 180_000);

  it("grows 3→4→5 through learners and shrinks back to 3 while a writer keeps writing", async () => {
    lab.writeNodes(FIVE);
    await labUp(spec(), { stateRoot: state, prune: false });
    const m = await prepareMaterial(spec(), envPaths(ENV, state).pkiDir, new Date());
    const admin = createEtcdAdmin(ALL3, m.adminTls, { callTimeoutMs: 3000 });
    const acked: string[] = [];
    let failed = 0;
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing; i++) {
        const k = `w/${String(i).padStart(6, "0")}`;
        await admin.put(k, String(i)).then(
          () => acked.push(k),
          () => failed++,
        );
        await new Promise((res) => setTimeout(res, 50));
      }
    })();
    try {
      let r = await reconcile();
      expect(r.code, r.out).toBe(0);
      expect(changes(r.out)).toEqual([
        "etcd-certs",
        "etcd-files",
        "etcd-add-member",
        "etcd-promote",
        "etcd-add-member",
        "etcd-promote",
      ]);
      const list5 = etcdctl(state, ENV, ALL3.slice(0, 1), ["member", "list"]);
      expect(list5.out.match(/started/g), list5.out).toHaveLength(5);
      expect(list5.out).not.toMatch(/true$/m);

      lab.writeNodes(THREE);
      r = await reconcile();
      expect(r.code, r.out).toBe(0);
      expect(changes(r.out)).toEqual(["etcd-remove-member", "etcd-remove-member"]);
      expect(etcdctl(state, ENV, ALL3.slice(0, 1), ["member", "list"]).out.match(/started/g)).toHaveLength(3);
    } finally {
      writing = false;
      await writer;
    }
    let missing = 0;
    for (const k of acked) if ((await admin.get(k)) === undefined) missing++;
    await admin.close();
    console.log(`writer: ${acked.length} acknowledged, ${failed} failed, ${missing} acknowledged but missing`);
    expect(acked.length).toBeGreaterThan(20);
    expect(missing).toBe(0);
  }, 240_000);

  it("a reconciler killed with SIGKILL in the middle of an op: the next run converges", async () => {
    await node("10.79.0.13", "sv -w 10 down /etc/service/etcd && rm -rf /var/lib/etcd/member");
    const killed = await reconcile((line) => /… etcd-add-member on/.test(line));
    expect(killed.signal, killed.out).toBe("SIGKILL");
    const r = await reconcile();
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/took over a stale lock .* 1 unfinished op\(s\) marked cancelled/);
    const recs = readRecords(envPaths(ENV, state).records);
    expect(recs.filter((x) => x.status === "cancelled").map((x) => x.op)).toEqual(["etcd-add-member"]);
    expect(recs.filter((x) => x.status === "running")).toEqual([]);
    const health = etcdctl(state, ENV, ALL3, ["endpoint", "health"]);
    expect(health.code, health.out).toBe(0);
    expect(etcdctl(state, ENV, ALL3.slice(0, 1), ["member", "list"]).out.match(/started, node/g)).toHaveLength(3);
    const again = await reconcile();
    expect(opsOf(again.out)).toEqual([]);
  }, 180_000);

  it("pins nodes by their issued host keys: no known_hosts needed, another key refused by name", async () => {
    const known = envPaths(ENV, state).knownHosts;
    const issued = readHostKey(envPaths(ENV, state).pkiDir, "node3")!;
    const served = await node("10.79.0.13", "cat /etc/ssh/ssh_host_ed25519_key.pub");
    expect(served.stdout.trim()).toBe(issued.publicKey);
    const pinned = readFileSync(known);
    writeFileSync(known, ""); // what a machine that never pinned anything by hand has
    const r = await reconcile();
    expect(r.code, r.out).toBe(0);
    expect(opsOf(r.out)).toEqual([]);
    writeFileSync(known, pinned); // the next command goes through the ssh client, which reads it
    // node3 now serves a key yagura did not issue, as an impostor at its address would.
    const swap = await node(
      "10.79.0.13",
      "ssh-keygen -q -t ed25519 -N '' -f /root/other && cp /root/other /etc/ssh/ssh_host_ed25519_key && sv hup /etc/service/sshd",
    );
    expect(swap.code, swap.stdout + swap.stderr).toBe(0);
    const refused = await reconcile();
    expect(refused.code, refused.out).toBe(4);
    expect(refused.out).toMatch(/refused: node3 presented a host key yagura neither issued nor pinned/);
    expect(refused.out).toMatch(/node3 \(root@10\.79\.0\.13:22\): host key changed: expected SHA256:/);
  }, 120_000);
});
