/** The drift watch's logic with an injected check (pure: no terraform, no clock), and its CLI flags. */
import { describe, expect, it } from "vitest";
import type { DriftResult } from "../../src/drift/check.js";
import { driftRound, startDriftWatch, type DriftWatchDeps } from "../../src/drift/watch.js";
import { driftFlagsOf } from "../../src/cli/drift.js";
import { createMetrics } from "../../src/run/metrics.js";

const changes: DriftResult = {
  kind: "changes",
  stackDir: "d",
  add: 1,
  change: 0,
  destroy: 0,
  forget: 0,
  resources: [{ address: "openstack_compute_instance_v2.w4", action: "create" }],
  driftedOutside: [],
  outputs: [],
};
const unknown: DriftResult = {
  kind: "unknown",
  reason: "provider",
  message: "the OpenStack provider is not installed/reachable (terraform init): x",
};

function deps(results: DriftResult[], applyInfra: boolean) {
  const log: string[] = [];
  const gauge: number[] = [];
  let applied = 0;
  const d: DriftWatchDeps = {
    env: "prod",
    intervalMs: 3_600_000,
    applyInfra,
    check: async () => results.shift() ?? { kind: "none", stackDir: "d" },
    apply: async () => (applied++, { code: 0, tail: "" }),
    onResult: (r) => gauge.push(r.kind === "changes" ? 1 : r.kind === "none" ? 0 : -1),
    log: (l) => log.push(l),
    sleep: async () => undefined,
  };
  return { d, log, gauge, applied: () => applied };
}

describe("driftRound", () => {
  it("reports changes and does not apply them without --apply-infra", async () => {
    const t = deps([changes], false);
    await driftRound(t.d);
    expect(t.applied()).toBe(0);
    expect(t.gauge).toEqual([1]);
    expect(t.log).toEqual([
      "infra drift of prod: changes: 1 to add, 0 to change, 0 to destroy",
      "  not applied: run `cdktf deploy prod`, or start the watch with --apply-infra",
    ]);
  });

  it("with --apply-infra runs cdktf deploy once after changes, never after unknown", async () => {
    const t = deps([unknown, changes], true);
    await driftRound(t.d);
    expect(t.applied()).toBe(0);
    expect(t.log.at(-1)).toBe("  not applying: whether the stack drifted is unknown");
    await driftRound(t.d);
    expect(t.applied()).toBe(1);
    expect(t.log.at(-1)).toBe("  cdktf deploy prod succeeded");
    expect(t.gauge).toEqual([-1, 1]);
  });

  it("a check that throws counts as unknown, not as no drift", async () => {
    const t = deps([], false);
    t.d.check = async () => {
      throw new Error("boom");
    };
    const r = await driftRound(t.d);
    expect(r).toMatchObject({ kind: "unknown", message: "the drift check failed: boom" });
    expect(t.gauge).toEqual([-1]);
  });
});

describe("startDriftWatch", () => {
  it("checks at once and after every interval until stopped", async () => {
    const t = deps([changes, unknown], false);
    const slept: number[] = [];
    let release: () => void = () => undefined;
    let rounds = 0;
    t.d.sleep = (ms) => {
      slept.push(ms);
      rounds++;
      // Two intervals pass at once; the third sleep waits for stop().
      return rounds < 3 ? Promise.resolve() : new Promise<void>((r) => (release = r));
    };
    const w = startDriftWatch(t.d);
    while (rounds < 3) await new Promise((r) => setImmediate(r));
    const stopped = w.stop();
    release();
    await stopped;
    expect(t.gauge).toEqual([1, -1, 0]);
    expect(slept).toEqual([3_600_000, 3_600_000, 3_600_000]);
  });
});

describe("drift flags and the gauge", () => {
  it("default to 1h and no apply; refuse a too short or malformed interval", () => {
    expect(driftFlagsOf({})).toEqual({ intervalMs: 3_600_000, applyInfra: false });
    expect(driftFlagsOf({ driftInterval: "30m", applyInfra: true, driftPluginDir: "/p" })).toEqual({
      intervalMs: 1_800_000,
      applyInfra: true,
      pluginDir: "/p",
    });
    expect(() => driftFlagsOf({ driftInterval: "10s" })).toThrow(/--drift-interval must be a duration of 1m or more/);
    expect(() => driftFlagsOf({ driftInterval: "soon" })).toThrow(/--drift-interval/);
  });

  it("yagura_infra_drift and the upload gauges appear in /metrics", async () => {
    const m = createMetrics("prod");
    m.setInfraDrift(-1);
    m.setUpload({ name: "n", location: "s3://b/", at: "2026-01-01T00:00:00Z", ok: true });
    const text = await m.registry.metrics();
    expect(text).toMatch(/^yagura_infra_drift\{env="prod"\} -1$/m);
    expect(text).toMatch(/^yagura_backup_upload_success\{env="prod"\} 1$/m);
    expect(text).toMatch(/^yagura_backup_upload_timestamp_seconds\{env="prod"\} 1767225600$/m);
    m.setUpload({ name: "n2", location: "s3://b/", at: "2026-01-02T00:00:00Z", ok: false, error: "x" });
    const after = await m.registry.metrics();
    expect(after).toMatch(/^yagura_backup_upload_success\{env="prod"\} 0$/m);
    expect(after).toMatch(/^yagura_backup_upload_timestamp_seconds\{env="prod"\} 1767225600$/m);
  });
});
