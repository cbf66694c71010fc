/** The etcd-snapshot op against a fake context: what it asks, and that a refusal leaves the store as it was. */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { localSnapshotStore } from "../../src/backup/store.js";
import type { EtcdAdmin, EtcdEndpointStatus } from "../../src/infra/types.js";
import { etcdSnapshotOp } from "../../src/ops/etcd/snapshot.js";
import type { OpContext } from "../../src/ops/types.js";
import { testSpec } from "../decide/builder.js";

const notImplemented = () => {
  throw new Error("not implemented");
};

/** An admin client that answers endpointStatus from `statuses` and throws for everything else. */
function fakeContext(statuses: Record<string, EtcdEndpointStatus | Error>, asked: string[]): OpContext {
  const admin: EtcdAdmin = {
    members: notImplemented,
    addLearner: notImplemented,
    promote: notImplemented,
    remove: notImplemented,
    put: notImplemented,
    get: notImplemented,
    async endpointStatus(url) {
      asked.push(url);
      const s = statuses[url];
      if (!s || s instanceof Error) throw s ?? new Error("no such endpoint");
      return s;
    },
    close: async () => undefined,
  };
  return {
    shell: {} as OpContext["shell"],
    etcdAdmin: () => admin,
    sleep: async () => undefined,
    now: () => new Date("2026-01-02T03:04:05Z"),
  };
}

describe("etcd-snapshot op", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it("asks every member and refuses without a healthy in-sync voter; no file is left behind", async () => {
    const spec = testSpec(3);
    const dir = mkdtempSync(join(tmpdir(), "yagura-snapshot-op-"));
    dirs.push(dir);
    const members = spec.nodes.map((n) => ({ node: n.name, clientURL: `https://${n.address}:2379` }));
    const asked: string[] = [];
    const ctx = fakeContext(
      {
        [members[0]!.clientURL]: { endpoint: members[0]!.clientURL, healthy: false, error: "connection refused" },
        [members[1]!.clientURL]: new Error("deadline exceeded"),
        [members[2]!.clientURL]: { endpoint: members[2]!.clientURL, healthy: true, isLearner: true, leaderId: "1" },
      },
      asked,
    );
    let tlsAsked = false;
    const op = etcdSnapshotOp(
      { spec, members, retention: 2 },
      {
        tls: async () => {
          tlsAsked = true;
          return { ca: "", cert: "", key: "" };
        },
        store: (s) => localSnapshotStore(dir, s.env),
      },
    );
    const cmd = op.nextCommand()!;
    expect(`${cmd.name}@${cmd.target}`).toBe("take-snapshot@local");
    expect(op.nextCommand()).toBeUndefined();
    await expect(cmd.run(ctx)).rejects.toThrow(
      /no healthy, in-sync voting member to snapshot \(cp1: connection refused; cp2: deadline exceeded; cp3: lagging or a learner\)/,
    );
    expect(asked.sort()).toEqual(members.map((m) => m.clientURL).sort());
    expect(tlsAsked).toBe(true);
    expect(readdirSync(dir)).toEqual([]);
  });
});
