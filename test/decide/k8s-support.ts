/** Shared by the Kubernetes decide tables: run a case, and check that every op terminates. */
import { expect } from "vitest";
import type { ClusterSpec } from "../../src/cluster/spec.js";
import type { ClusterStatus } from "../../src/cluster/status.js";
import { decide } from "../../src/decide/index.js";
import type { Decision } from "../../src/decide/types.js";
import type { Desired } from "../../src/ops/etcd/desired.js";

/** The time every table decides at. */
export const NOW = new Date("2026-01-02T03:04:05Z");

/** One row: a status, the phase and op names expected, and optionally targets per op and a message. */
export interface K8sCase {
  readonly name: string;
  readonly spec: ClusterSpec;
  readonly desired: Desired;
  readonly status: ClusterStatus;
  readonly phase: string;
  readonly ops: readonly string[];
  readonly targets?: readonly (readonly string[])[];
  readonly message?: RegExp;
}

/** Runs the whole ladder in scope all and checks the row; returns the decision. */
export function check(c: K8sCase): Decision {
  const d = decide(c.spec, c.status, { now: NOW, desired: c.desired, scope: "all" });
  expect(d.phase, d.message).toBe(c.phase);
  expect(d.ops.map((o) => o.name)).toEqual(c.ops);
  if (c.targets) expect(d.ops.map((o) => [...o.targets])).toEqual(c.targets.map((t) => [...t]));
  if (c.message) expect(d.message).toMatch(c.message);
  for (const op of d.ops) {
    let n = 0;
    while (op.nextCommand() && n < 1000) n++;
    expect(n, `${op.name} must terminate`).toBeLessThan(1000);
    expect(n, `${op.name} has commands`).toBeGreaterThan(0);
  }
  return d;
}
