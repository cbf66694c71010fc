/** The watch metrics: scrape the registry after events, and /metrics and /healthz over loopback. */
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import type { ClusterStatus, NodeStatus } from "../../src/cluster/status.js";
import type { Decision } from "../../src/decide/types.js";
import { createMetrics, isHealthy, parseAddr, serveMetrics } from "../../src/run/metrics.js";

const node = (name: string, reachable: boolean): NodeStatus => ({
  name,
  reachable,
  prerequisites: { ok: true, missing: [] },
  services: {},
  files: {},
  etcdData: { present: true, hasMember: true },
});

const member = (name: string, healthy: boolean) =>
  ({
    id: name,
    name,
    peerURLs: [],
    clientURLs: [],
    isLearner: false,
    healthy,
    inSync: true,
  }) as unknown as ClusterStatus["etcd"]["members"][number];

const status: ClusterStatus = {
  nodes: { node1: node("node1", true), node2: node("node2", true), node3: node("node3", false) },
  etcd: { members: [member("node1", true), member("node2", true), member("node3", false)] },
};

const pass = (phase: string) => ({
  kind: "pass" as const,
  pass: 1,
  decision: { phase, ops: [], message: "" } as Decision,
});

describe("watch metrics", () => {
  it("counts ops, failures, passes and reports phase, nodes, etcd and backup age", async () => {
    const m = createMetrics("e1");
    m.onEvent(pass("etcd-start"));
    m.onEvent({ kind: "op-start", op: "etcd-start", targets: ["node3"] });
    m.onEvent({ kind: "op-done", op: "etcd-start", ms: 10 });
    m.onEvent({ kind: "op-failed", op: "etcd-restart", command: "sv@node2", error: "x" });
    m.onEvent(pass("completed"));
    m.onPass("completed", new Date(1_700_000_000_000), status);
    m.onPass("failed", new Date(1_700_000_100_000));
    m.setBackupAge(42);
    const text = await m.registry.metrics();
    const has = (line: string) => expect(text.split("\n")).toContain(line);
    has('yagura_ops_total{env="e1",op="etcd-start"} 1');
    has('yagura_ops_total{env="e1",op="etcd-restart"} 1');
    has('yagura_ops_failed_total{env="e1",op="etcd-restart"} 1');
    expect(text).not.toMatch(/yagura_ops_failed_total\{env="e1",op="etcd-start"\}/);
    has('yagura_phase{env="e1",phase="etcd-start"} 0');
    has('yagura_phase{env="e1",phase="completed"} 1');
    has('yagura_last_success_timestamp_seconds{env="e1"} 1700000000');
    has('yagura_nodes{env="e1",condition="reachable"} 2');
    has('yagura_nodes{env="e1",condition="unreachable"} 1');
    has('yagura_etcd_members{env="e1"} 3');
    has('yagura_etcd_healthy_members{env="e1"} 2');
    has('yagura_backup_age_seconds{env="e1"} 42');
    has('yagura_passes_total{env="e1",outcome="completed"} 1');
    has('yagura_passes_total{env="e1",outcome="failed"} 1');
  });

  it("has no backup age series when there is no snapshot", async () => {
    const m = createMetrics("e1");
    m.setBackupAge(10);
    m.setBackupAge(undefined);
    expect(await m.registry.metrics()).not.toMatch(/^yagura_backup_age_seconds\{/m);
  });

  it("healthz is healthy within three intervals of the last pass and while alive", () => {
    expect(isHealthy(true, 0, 1000, 3000)).toBe(true);
    expect(isHealthy(true, 0, 1000, 3001)).toBe(false);
    expect(isHealthy(false, 0, 1000, 10)).toBe(false);
  });

  it("parses HOST:PORT and refuses anything else", () => {
    expect(parseAddr("127.0.0.1:9464")).toEqual({ host: "127.0.0.1", port: 9464 });
    expect(parseAddr("[::1]:80")).toEqual({ host: "::1", port: 80 });
    for (const bad of ["9464", "127.0.0.1", "host:99999", "a:b"]) expect(() => parseAddr(bad)).toThrow(/HOST:PORT/);
  });

  it("serves /metrics and /healthz on loopback", async () => {
    const m = createMetrics("e1");
    m.onPass("completed", new Date(0), status);
    let ok = true;
    const server = await serveMetrics("127.0.0.1:0", m.registry, () => ok);
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const body = await (await fetch(`${base}/metrics`)).text();
      expect(body).toMatch(/^yagura_passes_total\{env="e1",outcome="completed"\} 1$/m);
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      ok = false;
      expect((await fetch(`${base}/healthz`)).status).toBe(503);
      expect((await fetch(`${base}/nope`)).status).toBe(404);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
