/**
 * The rebuild tests' API writer against the mutual-TLS stub server (no kube-apiserver here): the
 * stub keeps ConfigMaps in memory, refuses some writes, and in one test loses an acknowledged
 * ConfigMap and changes another, which the writer must report missing.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createKubeApi } from "../../src/infra/kube.js";
import type { KubeApi } from "../../src/infra/kube-types.js";
import { until } from "../e2e/helpers.js";
import { json, startKubeStub, status, type KubeStub, type Seen } from "../infra/kube-stub.js";
import { kubeWriter } from "./kube-writer.js";

const PATH = /^\/api\/v1\/namespaces\/([^/]+)\/configmaps\/([^/]+)$/;
const LIST = /^\/api\/v1\/namespaces\/([^/]+)\/configmaps$/;

let stub: KubeStub;
let api: KubeApi;
/** The stub's ConfigMaps by `namespace/name`. */
const stored = new Map<
  string,
  { metadata: { name: string; labels?: Record<string, string> }; data: Record<string, string> }
>();
const writes: Seen[] = [];
/** Answers the n-th write (from 1) with this status instead of storing it. */
let refuse: (n: number) => number | undefined = () => undefined;

beforeAll(async () => {
  stub = await startKubeStub((s, res) => {
    const l = LIST.exec(s.path);
    if (l && s.method === "GET") {
      // Only the equality selector the writer sends: key=value.
      const [k, v] = (s.query.get("labelSelector") ?? "").split("=");
      const items = [...stored]
        .filter(([key, o]) => key.startsWith(`${l[1]}/`) && o.metadata.labels?.[k!] === v)
        .map(([, o]) => o);
      return json(res, 200, { apiVersion: "v1", kind: "ConfigMapList", items });
    }
    const m = PATH.exec(s.path);
    if (!m) return json(res, 404, status(404, "NotFound", `no route ${s.method} ${s.path}`));
    const key = `${m[1]}/${decodeURIComponent(m[2]!)}`;
    if (s.method === "GET") {
      const o = stored.get(key);
      return o ? json(res, 200, o) : json(res, 404, status(404, "NotFound", `configmaps "${m[2]}" not found`));
    }
    if (s.method !== "PATCH") return json(res, 405, status(405, "MethodNotAllowed", s.method));
    writes.push(s);
    const code = refuse(writes.length);
    if (code) return json(res, code, status(code, "ServiceUnavailable", "etcdserver: leader changed"));
    const body = s.body as {
      metadata: { name: string; labels?: Record<string, string> };
      data: Record<string, string>;
    };
    const created = !stored.has(key);
    stored.set(key, body);
    json(res, created ? 201 : 200, body);
  });
  api = createKubeApi(stub.endpoint, { timeoutMs: 5000 });
});

afterAll(async () => {
  await api?.close();
  await stub?.close();
});

beforeEach(() => {
  stored.clear();
  writes.length = 0;
  refuse = () => undefined;
});

describe("kubeWriter (API writer of the rebuild tests) against the TLS stub", () => {
  it("server-side applies ConfigMaps as yagura's admin, counts only acknowledged writes and reads them all back", async () => {
    refuse = (n) => (n % 4 === 0 ? 503 : undefined);
    const w = kubeWriter([api], { pauseMs: 1 });
    expect(await until(30_000, () => w.acked() >= 12)).toBe(true);
    const r = await w.stop(api);
    expect(r.missing).toEqual([]);
    expect(r.failed).toBe(Math.floor(writes.length / 4));
    expect(r.acked).toBe(writes.length - r.failed);
    expect(r.acked).toBe(stored.size);
    expect(r.errors[0]).toMatch(/^apply ConfigMap default\/rebuild-\d+-\d{6}: HTTP 503: etcdserver: leader changed$/);
    expect(writes[0]!.clientCN).toBe("yagura-admin");
    expect(writes[0]!.contentType).toBe("application/apply-patch+yaml");
    expect(writes[0]!.query.get("fieldManager")).toBe("yagura");
  });

  it("reports an acknowledged ConfigMap the server lost, and one it holds with another value", async () => {
    const w = kubeWriter([api], { pauseMs: 1, prefix: "lose-" });
    expect(await until(30_000, () => w.acked() >= 10)).toBe(true);
    stored.delete("default/lose-000003");
    stored.get("default/lose-000005")!.data = { i: "4" };
    const r = await w.stop(api);
    expect(r.missing).toEqual(["lose-000003", "lose-000005"]);
    expect(r.acked).toBe(writes.length);
    expect(r.failed).toBe(0);
  });

  it("moves on to the next API server when one fails (here: one whose certificate it does not trust)", async () => {
    const foreign = createKubeApi(stub.foreignEndpoint, { timeoutMs: 5000 });
    try {
      const w = kubeWriter([foreign, api], { pauseMs: 1 });
      expect(await until(30_000, () => w.acked() >= 5)).toBe(true);
      const r = await w.stop(api);
      expect(r.failed).toBe(1);
      expect(r.errors).toHaveLength(1);
      expect(r.errors[0]).toMatch(/cannot reach https:\/\/127\.0\.0\.1:\d+/);
      expect(r.missing).toEqual([]);
    } finally {
      await foreign.close();
    }
  });
});
