/**
 * Every metric the alert rules and the dashboard query exists on the /metrics of a real
 * `reconcile --watch` in its own lab (bridge ygbr105m, 10.105.0.0/24, real sshd, runit and etcd):
 * the watch brings up etcd, takes a snapshot, uploads it to a real S3-compatible server (s3rver on
 * 127.0.0.1), and is scraped over loopback.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { join, resolve } from "node:path";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import S3rver from "s3rver";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { e2eSkipReason, useLab, until } from "../e2e/helpers.js";
import { freePort } from "../infra/etcd-server.js";
import { dashboardQueries, metricNames, promtool, RULES, ruleQueries, runPromtool } from "./queries.js";
import { stringify } from "yaml";

const base = e2eSkipReason();
const skip = base ? `metrics e2e skipped: ${base}` : undefined;
if (skip) console.warn(skip);

const ROOT = resolve(import.meta.dirname, "../..");
const ENV = "m105";
const NODES: [string, string][] = [["node1", "10.105.0.11"]];

/**
 * Metrics the lab cannot give a value: they are registered (a # TYPE line) but have no sample
 * until what feeds them exists.
 */
const DECLARED_ONLY: Record<string, string> = {
  yagura_infra_drift: "the lab has no OpenStack stack, so no drift check runs",
  yagura_ops_failed_total: "no op fails in a healthy lab (a labelled counter has no series before its first failure)",
};

/** Names with a # TYPE line (histograms with their series suffixes), and names with a sample. */
function exposition(text: string): { declared: Set<string>; sampled: Set<string> } {
  const declared = new Set<string>();
  const sampled = new Set<string>();
  for (const line of text.split("\n")) {
    const t = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (t) {
      declared.add(t[1]!);
      if (t[2] === "histogram") for (const s of ["_bucket", "_sum", "_count"]) declared.add(t[1]! + s);
    } else if (line && !line.startsWith("#")) sampled.add(/^[^{ ]+/.exec(line)![0]);
  }
  return { declared, sampled };
}

/**
 * A promtool test that feeds the scraped samples as constant series for an hour and expects no
 * alert at the end of it. Timestamp-valued metrics are shifted so that at the evaluation time they
 * lie as far in the past (or future) as they did at the scrape.
 */
function quietTest(body: string, scrapedAtSeconds: number): string {
  const evalSeconds = 3600;
  const series = body
    .split("\n")
    .filter((l) => l && !l.startsWith("#"))
    .map((l) => {
      const at = l.lastIndexOf(" ");
      const name = l.slice(0, at);
      let v = Number(l.slice(at + 1));
      if (/^[^{]+_timestamp_seconds\{/.test(name)) v = v - scrapedAtSeconds + evalSeconds;
      return { series: name, values: `${v}x70` };
    });
  const alerts = ruleQueries().map((q) => q.where.replace(/^alert /, ""));
  return stringify({
    rule_files: [RULES],
    evaluation_interval: "1m",
    tests: [
      {
        interval: "1m",
        input_series: series,
        alert_rule_test: alerts.map((a) => ({ eval_time: `${evalSeconds / 60}m`, alertname: a, exp_alerts: [] })),
      },
    ],
  });
}

describe.skipIf(skip !== undefined)("the metrics of a running watch (real sshd, runit, etcd)", () => {
  let child: ChildProcess | undefined;
  // Filled before the lab's own beforeAll writes the inventory: the upload endpoint's port.
  const extra: string[] = [];
  const s3dir = skip ? "" : mkdtempSync(join(tmpdir(), "yagura-metrics-s3-"));
  let s3: S3rver | undefined;
  beforeAll(async () => {
    s3 = new S3rver({
      address: "127.0.0.1",
      port: await freePort(),
      silent: true,
      directory: s3dir,
      configureBuckets: [{ name: "snapshots", configs: [] }],
    });
    const { port } = await s3.run();
    extra.push(
      `reconciler: { backup: { upload: { kind: s3, endpoint: "http://127.0.0.1:${port}", bucket: snapshots } } }`,
    );
  });
  afterAll(async () => {
    await s3?.close();
    rmSync(s3dir, { recursive: true, force: true });
  });
  const { state, file } = useLab({
    inventory: { env: ENV, bridge: "ygbr105m", cidr: "10.105.0.0/24", nodes: NODES, extra },
    tmpPrefix: "metrics",
    skip,
    beforeDown: () => {
      if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
  });

  it("exposes every metric an alert rule or a dashboard query names", async () => {
    const port = await freePort();
    let out = "";
    const args = ["reconcile", file, "--watch", "--interval", "5s", "--scope", "etcd"];
    child = spawn(
      process.execPath,
      ["--import", "tsx", join(ROOT, "src/cli/main.ts"), ...args, "--metrics-addr", `127.0.0.1:${port}`],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          YAGURA_STATE_DIR: state,
          NODE_NO_WARNINGS: "1",
          // s3rver's fixed test credentials, through the variables the inventory names by default.
          YAGURA_S3_ACCESS_KEY_ID: "S3RVER",
          YAGURA_S3_SECRET_ACCESS_KEY: "S3RVER",
        },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((res) => child!.on("close", (code) => res(code)));
    const scrape = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();

    // The first pass bootstraps etcd and takes and uploads the first snapshot; the next one completes.
    const started = Date.now();
    let body = "";
    const ready = async () =>
      /watch pass \d+: completed/.test(out) &&
      /^yagura_backup_upload_success\{/m.test((body = await scrape().catch(() => ""))) &&
      /^yagura_backup_age_seconds\{/m.test(body);
    expect(await until(120_000, ready), out.slice(-3000)).toBe(true);
    console.log(
      `metrics e2e: first completed pass with a snapshot after ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );

    const { declared, sampled } = exposition(body);
    const queries = [...ruleQueries(), ...dashboardQueries()];
    const used = new Set(queries.flatMap((q) => metricNames(q.expr)));
    for (const q of queries)
      for (const n of metricNames(q.expr)) {
        expect(declared.has(n), `${q.where}: ${n} is not on /metrics`).toBe(true);
        if (!DECLARED_ONLY[n]) expect(sampled.has(n), `${q.where}: ${n} has no sample on /metrics`).toBe(true);
      }
    console.log(
      `metrics e2e: ${queries.length} queries name ${used.size} metrics; all on /metrics, ` +
        `${[...used].filter((n) => sampled.has(n)).length} with samples ` +
        `(without: ${Object.keys(DECLARED_ONLY).join(", ")})`,
    );

    // On the real values of a healthy lab no alert fires (units and scales agree with the rules).
    if (promtool) {
      const testFile = join(s3dir, "quiet.test.yaml");
      writeFileSync(testFile, quietTest(body, Date.now() / 1000));
      const r = runPromtool(["test", "rules", testFile]);
      expect(r.code, r.out).toBe(0);
      console.log(
        `metrics e2e: promtool on the scraped values for an hour: no alert fires (${r.out.trim().split("\n").at(-1)})`,
      );
    } else console.warn("metrics e2e: promtool missing, so the alerts are not evaluated on the scraped values");

    // The values behind the alerts are what the lab shows.
    const lines = body.split("\n");
    expect(lines).toContain(`yagura_node_observed{env="${ENV}",node="node1"} 1`);
    expect(lines).toContain(`yagura_etcd_has_leader{env="${ENV}"} 1`);
    expect(lines).toContain(`yagura_consecutive_failed_passes{env="${ENV}"} 0`);
    expect(lines).toContain(`yagura_leader{env="${ENV}"} 1`);
    expect(lines).toContain(`yagura_backup_schedule_seconds{env="${ENV}"} 900`);
    expect(lines).toContain(`yagura_backup_upload_success{env="${ENV}"} 1`);
    const expiries = lines.filter((l) => l.startsWith(`yagura_certificate_expiry_timestamp_seconds{env="${ENV}",`));
    expect(expiries.length).toBeGreaterThan(3);
    for (const l of expiries) expect(Number(l.split(" ").at(-1)) * 1000).toBeGreaterThan(Date.now() + 300 * 86_400_000);

    child.kill("SIGTERM");
    expect(await exited, out.slice(-2000)).toBe(0);
  }, 180_000);
});
