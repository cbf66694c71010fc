/**
 * The runit supervisor's restart against a real runsvdir, in a private mount namespace whose /etc
 * is a tmpfs (so /etc/service and /etc/yagura/sv are the test's own): a component whose old
 * process takes longer than sv's 30 s to exit after TERM is still restarted by one restart script,
 * instead of sv reporting it restarted while the old process still runs, or the op failing with sv's
 * timeout; and a component with its own stop timeout is killed once that has passed.
 */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { runitSupervisor } from "../../src/supervisor/runit.js";

const can =
  process.getuid?.() === 0 && spawnSync("sh", ["-c", "command -v runsvdir && command -v unshare"]).status === 0;

/** Starts `run` as service "slow", restarts it with the script under test and reports both pids and the time. */
function restartUnderRunit(run: string, stopTimeoutSeconds?: number) {
  const sup = runitSupervisor();
  const script = [
    "set -e",
    "mount -t tmpfs tmpfs /etc",
    "mkdir -p /etc/service /etc/yagura/sv/slow",
    `cat > /etc/yagura/sv/slow/run <<'RUN'\n${run}RUN`,
    "chmod 755 /etc/yagura/sv/slow/run",
    "runsvdir -P /etc/service >/dev/null 2>&1 &",
    "rsd=$!",
    // runsvdir and what it supervises go with this script however it ends, not only on success.
    `trap 'st=$?; kill -HUP $rsd 2>/dev/null || true; sleep 1; kill -9 $rsd 2>/dev/null || true; exit $st' EXIT`,
    sup.startScript("slow"),
    "first=$(cat /etc/service/slow/supervise/pid)",
    "start=$(date +%s%N)",
    `( ${sup.restartScript("slow", stopTimeoutSeconds)} ) 2>&1 || { echo "restart failed"; exit 1; }`,
    "second=$(cat /etc/service/slow/supervise/pid)",
    'echo "first=$first second=$second took=$(( ($(date +%s%N) - start) / 1000000 ))"',
    "sv status /etc/service/slow",
  ].join("\n");
  const r = spawnSync("unshare", ["--mount", "--propagation", "private", "--fork", "sh", "-c", script], {
    encoding: "utf8",
    timeout: 150_000,
  });
  expect(r.status, r.stdout + r.stderr).toBe(0);
  const m = /first=(\d+) second=(\d+) took=(\d+)/.exec(r.stdout);
  expect(m, r.stdout).not.toBeNull();
  expect(m![2]).not.toBe(m![1]);
  expect(r.stdout).toMatch(/^run: \/etc\/service\/slow: \(pid \d+\)/m);
  return { tookMs: Number(m![3]), out: r.stdout };
}

describe.skipIf(!can)("runit restart of a slow-to-stop component (real runsvdir)", () => {
  it("waits for the old process past sv's own wait and ends with a new one running", () => {
    // Exits 8 s after TERM (the trap runs once the current sleep returns), well past the 1 s sv
    // waits and well within the default bound.
    const r = restartUnderRunit(`#!/bin/sh\ntrap 'sleep 8; exit 0' TERM\nwhile :; do sleep 1; done\n`);
    // The old process takes 8 s to go: sv alone reported the service restarted with it still running.
    expect(r.tookMs, r.out).toBeGreaterThanOrEqual(7_000);
    expect(r.out).not.toMatch(/killing it/);
  }, 180_000);

  it("kills an old process that outlives the component's own stop timeout, and says so", () => {
    // Ignores TERM altogether, as an apiserver holding its watches does for a minute.
    const r = restartUnderRunit(`#!/bin/sh\ntrap '' TERM\nwhile :; do sleep 1; done\n`, 3);
    expect(r.out).toMatch(/slow \(pid \d+\) did not exit within 3 s of TERM: killing it/);
    expect(r.tookMs, r.out).toBeGreaterThanOrEqual(3000);
  }, 60_000);
});
