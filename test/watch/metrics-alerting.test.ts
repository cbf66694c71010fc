/**
 * The metrics the alert rules and the dashboard need: failed passes in a row, pass duration, each
 * node's observation, the etcd leader, the schedule, certificate expiry read from a real PKI
 * directory (certificates made by openssl), and holding the environment.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { ClusterStatus, NodeStatus } from "../../src/cluster/status.js";
import { certificateExpiries, createMetrics, reportingCertificates } from "../../src/run/metrics.js";

const node = (name: string, reachable: boolean): NodeStatus => ({
  name,
  reachable,
  prerequisites: { ok: true, missing: [] },
  services: {},
  files: {},
  etcdData: { present: true, hasMember: true },
});

const status = (leaderId?: string, down = "node3"): ClusterStatus => ({
  nodes: Object.fromEntries(["node1", "node2", "node3"].map((n) => [n, node(n, n !== down)])),
  etcd: { members: [], ...(leaderId ? { leaderId } : {}) },
});

const lines = async (m: ReturnType<typeof createMetrics>) => (await m.registry.metrics()).split("\n");

describe("alerting metrics", () => {
  const dir = mkdtempSync(join(tmpdir(), "yagura-metrics-pki-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("counts failed passes in a row, resets on a completed or stuck pass, and keeps them over a stop", async () => {
    const m = createMetrics("e1");
    const seq: [Parameters<typeof m.onPass>[0], number][] = [
      ["failed", 1],
      ["error", 2],
      ["stopped", 2],
      ["failed", 3],
      ["stuck", 0],
      ["failed", 1],
      ["completed", 0],
    ];
    for (const [outcome, want] of seq) {
      m.onPass(outcome, new Date(1_700_000_000_000));
      expect(await lines(m), outcome).toContain(`yagura_consecutive_failed_passes{env="e1"} ${want}`);
    }
    expect(await lines(m)).toContain('yagura_last_pass_timestamp_seconds{env="e1"} 1700000000');
  });

  it("observes pass durations, each node and the etcd leader", async () => {
    const m = createMetrics("e1");
    m.onPass("completed", new Date(40_000), status("a1"), new Date(0));
    m.onPass("failed", new Date(103_000), status(undefined, "node1"), new Date(100_000));
    const text = await lines(m);
    expect(text).toContain('yagura_pass_duration_seconds_count{env="e1"} 2');
    expect(text).toContain('yagura_pass_duration_seconds_sum{env="e1"} 43');
    expect(text).toContain('yagura_pass_duration_seconds_bucket{le="5",env="e1"} 1');
    expect(text).toContain('yagura_pass_duration_seconds_bucket{le="60",env="e1"} 2');
    expect(text).toContain('yagura_node_observed{env="e1",node="node1"} 0');
    expect(text).toContain('yagura_node_observed{env="e1",node="node3"} 1');
    expect(text).toContain('yagura_etcd_has_leader{env="e1"} 0');
  });

  it("reports the schedule and counts each time the environment is taken", async () => {
    const m = createMetrics("e1");
    m.setSchedule(300, 900);
    m.setLeader(true);
    m.setLeader(true);
    m.setLeader(false);
    expect(await lines(m)).toContain('yagura_leader{env="e1"} 0');
    m.setLeader(true);
    const text = await lines(m);
    expect(text).toContain('yagura_watch_interval_seconds{env="e1"} 300');
    expect(text).toContain('yagura_backup_schedule_seconds{env="e1"} 900');
    expect(text).toContain('yagura_leader{env="e1"} 1');
    expect(text).toContain('yagura_leader_acquired_total{env="e1"} 2');
  });

  it("reads every certificate's notAfter from the PKI directory and drops certificates that are gone", async () => {
    const make = (name: string, days: number) =>
      execFileSync(
        "openssl",
        [
          "req",
          "-x509",
          "-newkey",
          "ec",
          "-pkeyopt",
          "ec_paramgen_curve:P-256",
          "-nodes",
          "-days",
          String(days),
          "-subj",
          `/CN=${name}`,
          "-keyout",
          join(dir, `${name}.key`),
          "-out",
          join(dir, `${name}.crt`),
        ],
        { stdio: "ignore" },
      );
    const notAfter = (name: string) => {
      const out = execFileSync("openssl", ["x509", "-noout", "-enddate", "-in", join(dir, `${name}.crt`)], {
        encoding: "utf8",
      });
      return Date.parse(out.trim().replace(/^notAfter=/, "")) / 1000;
    };
    make("etcd-peer-ca", 3650);
    make("etcd-server-node1", 10);
    writeFileSync(join(dir, "broken.crt"), "not a certificate");
    writeFileSync(join(dir, "sa.pub"), "not a certificate either");

    const got = await certificateExpiries(dir);
    expect([...got.keys()]).toEqual(["etcd-peer-ca", "etcd-server-node1"]);
    expect(got.get("etcd-server-node1")).toBe(notAfter("etcd-server-node1"));
    expect(got.get("etcd-peer-ca")).toBe(notAfter("etcd-peer-ca"));

    const m = createMetrics("e1");
    const lend = reportingCertificates(<T>(fn: (d: string) => Promise<T>) => fn(dir), m);
    expect(await lend(async () => "prepared")).toBe("prepared");
    expect(await lines(m)).toContain(
      `yagura_certificate_expiry_timestamp_seconds{env="e1",cert="etcd-server-node1"} ${notAfter("etcd-server-node1")}`,
    );
    rmSync(join(dir, "etcd-server-node1.crt"));
    await lend(async () => undefined);
    const text = (await lines(m)).join("\n");
    expect(text).not.toMatch(/cert="etcd-server-node1"/);
    expect(text).toMatch(/cert="etcd-peer-ca"/);

    // A reissued certificate under the same name is read anew, not taken from what was parsed before.
    make("etcd-peer-ca", 5);
    expect((await certificateExpiries(dir)).get("etcd-peer-ca")).toBe(notAfter("etcd-peer-ca"));
    expect(notAfter("etcd-peer-ca") * 1000).toBeLessThan(Date.now() + 6 * 86_400_000);
  });
});
