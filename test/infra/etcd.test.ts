import { execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEtcdAdmin, memberIdToDecimal } from "../../src/infra/etcd.js";
import type { EtcdAdmin, EtcdMember } from "../../src/infra/types.js";
import { openPki, type Pki } from "../../src/pki/index.js";
import { spawnMember, startEtcd, stopMember, type TestEtcd } from "./etcd-server.js";
import { etcdMemberCerts } from "../../src/pki/index.js";

const ADDRESSES = ["127.0.0.24", "127.0.0.25", "127.0.0.26"];
const CLIENT_PORT = 24379;
const PEER_PORT = 24380;
let dir: string;
let pki: Pki;
let etcd: TestEtcd;
let admin: EtcdAdmin;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "yagura-etcd-"));
  pki = openPki(join(dir, "pki"));
  etcd = await startEtcd(dir, pki, ADDRESSES, CLIENT_PORT, PEER_PORT);
  admin = createEtcdAdmin(etcd.endpoints, etcd.tls);
});

afterAll(async () => {
  await admin?.close();
  await etcd?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** Retries `fn` while it fails with an error matching `transient` (etcd's not-yet answers), bounded. */
async function retry<T>(fn: () => Promise<T>, transient: RegExp): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= 80 || !transient.test((err as Error).message)) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/**
 * etcd 3.4 serves MemberList from the answering member's own view, which may trail a change the
 * leader just committed; wait (bounded) until every answer shows it.
 */
async function settledMembers(ok: (m: EtcdMember[]) => boolean): Promise<EtcdMember[]> {
  let m: EtcdMember[] = [];
  for (let i = 0; i < 40; i++) {
    m = await admin.members();
    if (ok(m)) return m;
    await new Promise((r) => setTimeout(r, 100));
  }
  return m;
}

/** etcdctl with the admin certificate: an independent view to check the adapter against. */
function etcdctl(...args: string[]): string {
  const p = (f: string) => join(pki.dir, f);
  return execFileSync(
    "etcdctl",
    [
      `--endpoints=${etcd.endpoints.join(",")}`,
      `--cacert=${p("etcd-client-ca.crt")}`,
      `--cert=${p("etcd-admin.crt")}`,
      `--key=${p("etcd-admin.key")}`,
      ...args,
    ],
    { encoding: "utf8", env: { ...process.env, ETCDCTL_API: "3" } },
  );
}

describe("etcd admin", () => {
  it("lists the members with exact uint64 ids", async () => {
    const members = await admin.members();
    expect(members.map((m) => m.name).sort()).toEqual(["etcd1", "etcd2", "etcd3"]);
    for (const m of members) {
      expect(m.isLearner).toBe(false);
      expect(m.id).toMatch(/^[0-9]+$/);
      const i = Number(m.name.slice(4)) - 1;
      expect(m.peerURLs).toEqual([`https://${ADDRESSES[i]}:${PEER_PORT}`]);
      expect(m.clientURLs).toEqual([`https://${ADDRESSES[i]}:${CLIENT_PORT}`]);
    }
    // etcdctl prints ids in hex; ours must be the same numbers, to the last bit.
    const hex = etcdctl("member", "list")
      .trim()
      .split("\n")
      .map((l) => l.split(",")[0]!.trim());
    expect(members.map((m) => BigInt(m.id).toString(16)).sort()).toEqual(hex.sort());
    expect(memberIdToDecimal(`0x${hex[0]}`)).toBe(BigInt(`0x${hex[0]}`).toString());
  });

  it("puts and gets keys", async () => {
    await admin.put("/yagura/test", "value with ü and 'quotes'");
    expect(await admin.get("/yagura/test")).toBe("value with ü and 'quotes'");
    expect(await admin.get("/yagura/absent")).toBeUndefined();
    expect(etcdctl("get", "/yagura/test", "--print-value-only")).toBe("value with ü and 'quotes'\n");
  });

  it("reports each endpoint's status, agreeing on the leader", async () => {
    const members = await admin.members();
    const s = await Promise.all(etcd.endpoints.map((e) => admin.endpointStatus(e)));
    expect(s.every((x) => x.healthy && x.error === undefined && x.isLearner === false)).toBe(true);
    expect(new Set(s.map((x) => x.leaderId)).size).toBe(1);
    expect(members.map((m) => m.id)).toContain(s[0]!.leaderId);
    expect(s.map((x) => x.memberId).sort()).toEqual(members.map((m) => m.id).sort());
    expect(s[0]!.raftIndex).toBeGreaterThan(0);
  });

  it("reports a dead endpoint as unhealthy without throwing", async () => {
    const s = await admin.endpointStatus(`https://127.0.0.24:24999`);
    expect(s).toMatchObject({ endpoint: "https://127.0.0.24:24999", healthy: false });
    expect(s.error).toBeTruthy();
    expect((await admin.endpointStatus("not an endpoint")).healthy).toBe(false);
  });

  it("adds a learner, refuses to promote it while it is not in sync, and removes it", async () => {
    const peer = `https://127.0.0.28:${PEER_PORT}`;
    // etcd refuses membership changes ("unhealthy cluster") until the leader has been connected to
    // every voter for 5 s; a freshly started cluster must wait, as the reconciler's next pass would.
    const learner = await retry(() => admin.addLearner(peer), /unhealthy cluster/);
    expect(learner).toMatchObject({ isLearner: true, peerURLs: [peer], name: "" });
    const listed = (await admin.members()).find((m) => m.id === learner.id);
    expect(listed?.isLearner).toBe(true);
    expect(etcdctl("member", "list")).toMatch(/unstarted, , https:\/\/127\.0\.0\.28:24380, , true/);
    // A learner that never started is not in sync; etcd refuses the promotion.
    await expect(admin.promote(learner.id)).rejects.toThrow(/learner|sync|ready/i);
    await admin.remove(learner.id);
    expect((await settledMembers((m) => m.every((x) => x.id !== learner.id))).map((m) => m.id)).not.toContain(
      learner.id,
    );
  });

  it("adds a learner that starts and catches up, promotes it, then removes it", async () => {
    const node = { name: "etcd4", address: "127.0.0.27" };
    const peer = `https://${node.address}:${PEER_PORT}`;
    await etcdMemberCerts(pki, node, new Date(), 24 * 60 * 60 * 1000);
    const learner = await retry(() => admin.addLearner(peer), /unhealthy cluster/);
    const members = await admin.members();
    const cluster = [
      ...members.filter((m) => m.name).map((m) => `${m.name}=${m.peerURLs[0]}`),
      `${node.name}=${peer}`,
    ].join(",");
    let log = "";
    const child = spawnMember(
      dir,
      pki,
      node,
      cluster,
      "existing",
      CLIENT_PORT,
      PEER_PORT,
      (t) => (log = (log + t).slice(-4000)),
    );
    try {
      const endpoint = `https://${node.address}:${CLIENT_PORT}`;
      const status = await retry(async () => {
        const s = await admin.endpointStatus(endpoint);
        if (!s.healthy) throw new Error(s.error);
        return s;
      }, /.*/);
      expect(status).toMatchObject({ isLearner: true, memberId: learner.id });
      // A learner refuses most calls; an admin whose endpoint list starts there still answers.
      const viaLearner = createEtcdAdmin([endpoint, etcd.endpoints[0]!], etcd.tls);
      try {
        for (let i = 0; i < 6; i++) expect((await viaLearner.members()).length).toBe(4);
      } finally {
        await viaLearner.close();
      }
      await retry(() => admin.promote(learner.id), /in sync|not ready|learner/i);
      // The answering member's list may trail the promotion the leader just committed (see settledMembers).
      const promoted = await settledMembers((m) => m.some((x) => x.id === learner.id && !x.isLearner));
      expect(promoted.find((m) => m.id === learner.id)).toMatchObject({ name: "etcd4", isLearner: false });
      await admin.remove(learner.id);
      expect(await settledMembers((m) => m.every((x) => x.id !== learner.id))).toHaveLength(3);
    } catch (err) {
      throw new Error(`${(err as Error).message}\netcd4: ${log}`, { cause: err });
    } finally {
      await stopMember(child);
    }
  });

  it("moves past an endpoint that does not answer", async () => {
    const some = createEtcdAdmin(["https://127.0.0.24:24998", etcd.endpoints[0]!], etcd.tls, { callTimeoutMs: 2000 });
    try {
      // Hosts are tried in a shuffled order: ten calls all but surely start at the dead one.
      for (let i = 0; i < 10; i++) expect(await some.get("/yagura/test")).toBe("value with ü and 'quotes'");
    } finally {
      await some.close();
    }
  });

  it("refuses a client certificate from another CA", async () => {
    const now = new Date();
    const usages = ["client" as const];
    // The etcd peer CA is a real CA of this cluster, just not the one trusted on the client port.
    const wrong = await pki.issue(
      "etcd-peer",
      { name: "intruder", commonName: "yagura", dnsNames: [], ipAddresses: [], usages },
      now,
    );
    const bad = createEtcdAdmin(
      etcd.endpoints,
      { ca: etcd.tls.ca, cert: wrong.certPem, key: wrong.keyPem },
      { callTimeoutMs: 3000 },
    );
    try {
      await expect(bad.members()).rejects.toThrow();
      const s = await bad.endpointStatus(etcd.endpoints[0]!);
      expect(s.healthy).toBe(false);
    } finally {
      await bad.close();
    }
  });
});
