/**
 * Documents of an environment (the apply's build record) in both backends: written whole by the
 * holder, read by anyone, refused to a holder that lost the lock; local files 0600.
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { envPaths } from "../../src/cluster/paths.js";
import { stateClient } from "../../src/state/etcd/client.js";
import { etcdDocuments } from "../../src/state/etcd/documents.js";
import { localBackend } from "../../src/state/local.js";
import { stateKeys } from "../../src/state/location.js";
import { LostLeadershipError } from "../../src/state/index.js";
import { until } from "../e2e/helpers.js";
import { stateEtcdSkipReason } from "./state-etcd.js";
import { throws, useStateStore } from "./store-fixture.js";

const skip = stateEtcdSkipReason();
if (skip) console.warn(skip.replace("state tests", "etcd document tests"));

describe("documents in the local backend", () => {
  let root = "";
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("writes the file whole and 0600, readable without the lock, and only while holding it", async () => {
    root = mkdtempSync(join(tmpdir(), "yagura-docs-"));
    const b = localBackend("env1", root);
    expect(await b.readDocument("rebuild-built.json")).toBeUndefined();
    const h = await b.acquire();
    await h.documents.write("rebuild-built.json", '{"version":1,"nodes":{}}\n');
    const file = join(envPaths("env1", root).dir, "rebuild-built.json");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(await b.readDocument("rebuild-built.json")).toBe('{"version":1,"nodes":{}}\n');
    await expect(h.documents.read("../lock")).rejects.toThrow(/not a document name/);
    h.release();
    await expect(h.documents.write("rebuild-built.json", "{}")).rejects.toThrow();
    expect(await h.documents.read("rebuild-built.json")).toBe('{"version":1,"nodes":{}}\n');
  });
});

describe.skipIf(skip !== undefined)("documents in the etcd backend (real etcd)", () => {
  const s = useStateStore(3);
  const store = s.store;
  const backend = () => s.backend("/docs");

  it("the holder replaces a document another instance reads; a lost or stale holder's write is refused", async () => {
    const keys = stateKeys("/docs", "env1");
    const a = await backend().acquire();
    await a.documents.write("rebuild-built.json", "one");
    await a.documents.write("rebuild-built.json", "two");
    expect(await backend().readDocument("rebuild-built.json")).toBe("two");
    expect(await backend().readDocument("other.json")).toBeUndefined();

    await store().raw.delete().key(keys.leader);
    await until(5000, () => throws(() => a.check()));
    await expect(a.documents.write("rebuild-built.json", "late")).rejects.toBeInstanceOf(LostLeadershipError);
    const b = await backend().acquire({ waitMs: 10_000 });
    const late = stateClient([`https://${store().hostPort}`], store().tls);
    try {
      const stale = etcdDocuments({
        client: late,
        prefix: keys.documents,
        leaderKey: keys.leader,
        token: a.token,
        check: () => undefined,
      });
      await expect(stale.write("rebuild-built.json", "late")).rejects.toThrow(
        new RegExp(`leadership \\(token ${a.token}\\) is gone; it is led by .+ \\(token ${b.token}\\)`),
      );
    } finally {
      late.close();
    }
    expect(await b.documents.read("rebuild-built.json")).toBe("two");
    await b.close();
    await a.close();
  }, 30_000);
});
