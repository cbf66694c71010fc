/** Last log lines of components: the supervisors' scripts run by a real sh, and how they are read and shown. */
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import type { Condition } from "../../src/cluster/status.js";
import type { ExecResult, NodeShell } from "../../src/infra/types.js";
import { failingComponent, formatLogTails, readLogTails, withLogTails } from "../../src/ops/log-tail.js";
import type { OpContext } from "../../src/ops/types.js";
import { runitSupervisor } from "../../src/supervisor/runit.js";
import { systemdSupervisor } from "../../src/supervisor/systemd.js";

/** A shell whose nodes answer from a table; `null` makes the node fail like an unreachable one. */
function tableShell(answers: Record<string, ExecResult | null>): NodeShell & { scripts: string[] } {
  const scripts: string[] = [];
  const exec = async (node: string, _cmd: string, opts?: { stdin?: string | Buffer }) => {
    scripts.push(String(opts?.stdin ?? ""));
    const a = answers[node];
    if (!a) throw new Error(`${node}: connect ECONNREFUSED`);
    return a;
  };
  return {
    scripts,
    exec,
    run: async (n, c, o) => (await exec(n, c, o)).stdout,
    upload: async () => undefined,
    roundTrips: new Map(),
    close: async () => undefined,
  };
}

describe("log tails", () => {
  it("runit reads svlogd's current file, systemd the journal; neither fails when there is no log", () => {
    expect(runitSupervisor().logTailScript("kubelet", 5)).toBe(
      "tail -n 5 /var/log/kubelet/current 2>/dev/null || true",
    );
    expect(systemdSupervisor().logTailScript("kube-apiserver", 3)).toContain(
      "journalctl -u kube-apiserver.service -n 3 --no-pager",
    );
    // A component that never logged: the script still exits 0 with nothing printed.
    expect(execFileSync("sh", ["-c", runitSupervisor().logTailScript(`no-such-${process.pid}`, 5)]).toString()).toBe(
      "",
    );
  });

  it("reads each node's lines, cuts long ones, and gives nothing for a node that does not answer", async () => {
    const long = "x".repeat(400);
    const shell = tableShell({ n1: { code: 0, stdout: `a\n${long}\n\n`, stderr: "" }, n2: null });
    const sup = runitSupervisor();
    const tails = await readLogTails(shell, [
      { node: "n1", component: "kubelet", supervisor: sup },
      { node: "n2", component: "kubelet", supervisor: sup },
    ]);
    expect(tails.map((t) => t.lines.length)).toEqual([2, 0]);
    expect(tails[0]!.lines[1]).toBe(`${"x".repeat(300)}…`);
    expect(formatLogTails(tails)).toBe(`  last lines of kubelet on n1:\n    a\n    ${"x".repeat(300)}…`);
  });

  it("a failed wait carries the tails of the sources it names at that moment; a success reads none", async () => {
    const shell = tableShell({ n1: { code: 0, stdout: "E1202 failed to run Kubelet: no runtime\n", stderr: "" } });
    const ctx = { shell } as unknown as OpContext;
    let still = ["n0"];
    const sources = () => still.map((node) => ({ node, component: "kubelet", supervisor: runitSupervisor() }));
    await expect(withLogTails(ctx, sources, async () => 1)).resolves.toBe(1);
    expect(shell.scripts).toEqual([]);
    const fail = withLogTails(ctx, sources, async () => {
      still = ["n1"];
      throw new Error("Nodes n1 registered: not reached within 120 s");
    });
    await expect(fail).rejects.toThrow(
      "not reached within 120 s\n  last lines of kubelet on n1:\n    E1202 failed to run Kubelet: no runtime",
    );
  });

  it("a component condition that is Stopped or Unhealthy names its component; others name none", () => {
    const c = (type: string, status: Condition["status"], reason: string): Condition => ({
      type,
      status,
      reason,
      message: "",
    });
    expect(failingComponent(c("kubeletReady", "False", "Unhealthy"))).toBe("kubelet");
    expect(failingComponent(c("containerdReady", "False", "Stopped"))).toBe("containerd");
    expect(failingComponent(c("etcdReady", "False", "Outdated"))).toBeUndefined();
    expect(failingComponent(c("NodeReady", "False", "NotReady"))).toBeUndefined();
    expect(failingComponent(c("kubeletReady", "True", "Running"))).toBeUndefined();
  });
});
