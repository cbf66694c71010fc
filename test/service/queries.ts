/** The PromQL of the alert rules and the Grafana dashboard under deploy/, and the metric names it uses. */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parse } from "yaml";

const ROOT = resolve(import.meta.dirname, "../..");
/** The alert rules file. */
export const RULES = join(ROOT, "deploy", "prometheus", "yagura-rules.yaml");
/** promtool's unit tests of the rules. */
export const RULES_TEST = join(ROOT, "deploy", "prometheus", "yagura-rules.test.yaml");
/** The Grafana dashboard. */
export const DASHBOARD = join(ROOT, "deploy", "grafana", "yagura-dashboard.json");

/** One query and where it is (alert name, or panel title and refId). */
export interface Query {
  readonly where: string;
  readonly expr: string;
}

interface Panel {
  title: string;
  type: string;
  targets?: { refId: string; expr: string }[];
}

/** Every alert rule's expression. */
export function ruleQueries(): Query[] {
  const doc = parse(readFileSync(RULES, "utf8")) as { groups: { rules: { alert: string; expr: string }[] }[] };
  return doc.groups.flatMap((g) => g.rules.map((r) => ({ where: `alert ${r.alert}`, expr: r.expr })));
}

/** The dashboard's panels (rows excluded). */
export function dashboardPanels(): Panel[] {
  const d = JSON.parse(readFileSync(DASHBOARD, "utf8")) as { panels: Panel[] };
  return d.panels.filter((p) => p.type !== "row");
}

/** Every panel target's query and the template variable queries. */
export function dashboardQueries(): Query[] {
  const d = JSON.parse(readFileSync(DASHBOARD, "utf8")) as {
    templating: { list: { name: string; type: string; query: string | { query: string } }[] };
  };
  const vars = d.templating.list
    .filter((v) => v.type === "query")
    .map((v) => ({ where: `variable $${v.name}`, expr: typeof v.query === "string" ? v.query : v.query.query }));
  const targets = dashboardPanels().flatMap((p) =>
    (p.targets ?? []).map((t) => ({ where: `panel "${p.title}" ${t.refId}`, expr: t.expr })),
  );
  return [...vars, ...targets];
}

/** The yagura_* metric names a query uses (label values in quotes are not names). */
export function metricNames(expr: string): string[] {
  const bare = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  return [...new Set(bare.match(/\byagura_[a-z0-9_]+\b/g) ?? [])];
}

/** The dashboard's queries as Grafana sends them: template variables replaced by what they stand for. */
export function asSent(expr: string): string {
  // label_values(m, l) is Grafana's: it asks for the values of l over the series of m.
  const lv = /^label_values\((.+),\s*(\w+)\)$/.exec(expr);
  if (lv) return `group by (${lv[2]}) (${lv[1]})`;
  return expr.replace(/\$__rate_interval/g, "5m").replace(/\$env\b/g, ".*");
}

/** promtool from Debian's prometheus package, or undefined. */
export const promtool = ["/usr/bin/promtool", "/usr/local/bin/promtool"].find(existsSync);

/** Runs promtool; its exit code and output. */
export function runPromtool(args: string[], cwd?: string): { code: number | null; out: string } {
  const r = spawnSync(promtool!, args, { encoding: "utf8", ...(cwd ? { cwd } : {}) });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}
