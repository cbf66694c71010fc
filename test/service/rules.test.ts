/**
 * The alert rules and the dashboard under deploy/: promtool checks the rules and runs their unit
 * tests (input series → alerts), a rule made wrong on purpose fails them, every alert is shown
 * firing by a test, and every query names only metrics the watch registers and parses as PromQL.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { createMetrics } from "../../src/run/metrics.js";
import {
  asSent,
  dashboardPanels,
  dashboardQueries,
  metricNames,
  promtool,
  RULES,
  RULES_TEST,
  ruleQueries,
  runPromtool,
} from "./queries.js";

const noPromtool = promtool
  ? undefined
  : "promtool missing (apt-get install prometheus, as scripts/install.sh does): the rule checks are skipped";
if (noPromtool) console.warn(noPromtool);

/** Every series name the watch's registry can expose, histograms with their _bucket/_sum/_count. */
async function registered(): Promise<Set<string>> {
  const names = new Set<string>();
  for (const m of await createMetrics("x").registry.getMetricsAsJSON()) {
    names.add(m.name);
    if (String(m.type) === "histogram") for (const s of ["_bucket", "_sum", "_count"]) names.add(m.name + s);
  }
  return names;
}

describe("alert rules and dashboard", () => {
  const tmp = mkdtempSync(join(tmpdir(), "yagura-rules-"));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it("name only metrics the watch registers, every query at least one", async () => {
    const known = await registered();
    const queries = [...ruleQueries(), ...dashboardQueries()];
    expect(queries.length).toBeGreaterThan(20);
    for (const q of queries) {
      const names = metricNames(q.expr);
      expect(names.length, `${q.where} names no yagura metric: ${q.expr}`).toBeGreaterThan(0);
      for (const n of names) expect(known.has(n), `${q.where}: ${n} is not a yagura metric`).toBe(true);
    }
  });

  it("has the panels an operator looks at", () => {
    const titles = dashboardPanels().map((p) => p.title);
    for (const t of [
      "Passes per hour by outcome",
      "Pass duration",
      "Infrastructure drift",
      "Nodes observed",
      "etcd health and leader",
      "etcd snapshot age",
      "Certificate expiry",
      "Ops run per hour",
      "Ops failed per hour",
    ])
      expect(titles).toContain(t);
  });

  describe.skipIf(noPromtool !== undefined)("promtool", () => {
    it("checks the rules", () => {
      const r = runPromtool(["check", "rules", RULES]);
      console.log(r.out.trim());
      expect(r.code, r.out).toBe(0);
      expect(r.out).toMatch(/SUCCESS: \d+ rules found/);
    });

    it("passes the rules' unit tests, which show every alert firing", () => {
      const r = runPromtool(["test", "rules", RULES_TEST], join(RULES, ".."));
      console.log(r.out.trim());
      expect(r.code, r.out).toBe(0);
      const tests = parse(readFileSync(RULES_TEST, "utf8")) as {
        tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[];
      };
      const shownFiring = new Set(
        tests.tests.flatMap((t) => t.alert_rule_test.filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname)),
      );
      for (const q of ruleQueries()) expect(shownFiring, q.where).toContain(q.where.replace(/^alert /, ""));
    });

    it("fails the unit tests when a rule is wrong (the tests can fail)", () => {
      copyFileSync(RULES_TEST, join(tmp, "yagura-rules.test.yaml"));
      const text = readFileSync(RULES, "utf8").replace(
        "yagura_consecutive_failed_passes >= 3",
        "yagura_consecutive_failed_passes >= 30",
      );
      expect(text).toContain(">= 30");
      writeFileSync(join(tmp, "yagura-rules.yaml"), text);
      const r = runPromtool(["test", "rules", "yagura-rules.test.yaml"], tmp);
      expect(r.code).not.toBe(0);
      expect(r.out).toMatch(/YaguraReconcileFailing/);
    });

    it("parses every dashboard query as PromQL", () => {
      const rules = {
        groups: [
          {
            name: "dashboard",
            rules: dashboardQueries().map((q, i) => ({ record: `dashboard_query_${i}`, expr: asSent(q.expr) })),
          },
        ],
      };
      writeFileSync(join(tmp, "dashboard-rules.yaml"), stringify(rules));
      const r = runPromtool(["check", "rules", join(tmp, "dashboard-rules.yaml")]);
      expect(r.code, r.out).toBe(0);
      const broken = { groups: [{ name: "x", rules: [{ record: "x", expr: "sum by (env (yagura_nodes)" }] }] };
      writeFileSync(join(tmp, "broken-rules.yaml"), stringify(broken));
      expect(runPromtool(["check", "rules", join(tmp, "broken-rules.yaml")]).code).not.toBe(0);
    });
  });
});
