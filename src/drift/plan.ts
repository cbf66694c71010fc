/**
 * Reading a Terraform plan: the JSON document `terraform show -json PLANFILE` prints, reduced to what
 * a drift report says (counts as Terraform's own "Plan:" line counts them, and the addresses with
 * their actions), plus the "Plan: N to add, …" line of `terraform plan` for when `show` fails. Pure.
 */

/** What happens to one resource. */
export type ChangeAction = "create" | "update" | "delete" | "replace" | "forget";

/** One resource the plan would touch. */
export interface ResourceChange {
  readonly address: string;
  readonly action: ChangeAction;
}

/** The plan's changes, counted the way Terraform's "Plan:" line counts them. */
export interface PlanSummary {
  readonly add: number;
  readonly change: number;
  readonly destroy: number;
  /** Resources the plan would remove from the state without destroying them (Terraform 1.7+). */
  readonly forget: number;
  /** Every managed resource with an action, in the plan's order. */
  readonly resources: readonly ResourceChange[];
  /** Resources whose real object changed outside Terraform (found by the plan's refresh). */
  readonly driftedOutside: readonly string[];
  /** Root outputs whose value would change (a plan with only these still exits 2). */
  readonly outputs: readonly string[];
}

interface RawChange {
  address?: unknown;
  mode?: unknown;
  change?: { actions?: unknown };
}

/** The action of a Terraform actions list; undefined for no-op and read (data sources). */
export function actionOf(actions: readonly string[]): ChangeAction | undefined {
  const a = actions.join(",");
  if (a === "create") return "create";
  if (a === "update") return "update";
  if (a === "delete") return "delete";
  if (a === "delete,create" || a === "create,delete") return "replace";
  if (a === "forget") return "forget";
  return undefined;
}

const changesOf = (v: unknown, what: string): RawChange[] => {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new Error(`not a terraform plan document: ${what} is not a list`);
  return v as RawChange[];
};

const actionsOf = (c: RawChange): string[] => {
  const a = c.change?.actions;
  if (!Array.isArray(a) || !a.every((x) => typeof x === "string"))
    throw new Error(`not a terraform plan document: ${String(c.address)} has no change.actions list`);
  return a as string[];
};

/** Summarises a `terraform show -json` plan document; throws when it is not one. */
export function summarizePlan(doc: unknown): PlanSummary {
  if (typeof doc !== "object" || doc === null || !("format_version" in doc))
    throw new Error("not a terraform plan document: no format_version (was it `terraform show -json PLANFILE`?)");
  const d = doc as { resource_changes?: unknown; resource_drift?: unknown; output_changes?: unknown };
  const resources: ResourceChange[] = [];
  for (const c of changesOf(d.resource_changes, "resource_changes")) {
    if (c.mode !== undefined && c.mode !== "managed") continue;
    const action = actionOf(actionsOf(c));
    if (action) resources.push({ address: String(c.address), action });
  }
  const driftedOutside = changesOf(d.resource_drift, "resource_drift")
    .filter((c) => (c.mode === undefined || c.mode === "managed") && actionOf(actionsOf(c)) !== undefined)
    .map((c) => String(c.address));
  const outputs = Object.entries((d.output_changes ?? {}) as Record<string, { actions?: unknown }>)
    .filter(([, c]) => Array.isArray(c.actions) && actionOf(c.actions as string[]) !== undefined)
    .map(([name]) => name);
  const count = (...as: ChangeAction[]) => resources.filter((r) => as.includes(r.action)).length;
  return {
    add: count("create", "replace"),
    change: count("update"),
    destroy: count("delete", "replace"),
    forget: count("forget"),
    resources,
    driftedOutside,
    outputs,
  };
}

/** The counts of `terraform plan`'s "Plan: N to add, M to change, K to destroy." line, if there is one. */
export function parsePlanLine(text: string): { add: number; change: number; destroy: number } | undefined {
  const m = /Plan: (\d+) to add, (\d+) to change, (\d+) to destroy/.exec(text);
  return m ? { add: Number(m[1]), change: Number(m[2]), destroy: Number(m[3]) } : undefined;
}
