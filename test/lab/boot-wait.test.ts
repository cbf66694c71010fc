/**
 * awaitPid1 against real processes standing in for a node's launcher (scripts named node-launch and
 * runsvdir, so /proc shows the names the lab looks for): it records PID 1 once it runs, fails at
 * once with the console when the launcher exits first, and waits a launcher that still works up
 * to its bound, then says what it was doing. Needs no root.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { describeError, EXIT, OperationFailedError } from "../../src/cli/errors.js";
import { awaitPid1 } from "../../src/lab/node.js";
import type { NodeRecord } from "../../src/lab/state.js";

const dir = mkdtempSync(join(tmpdir(), "yagura-boot-wait-"));
const started: ChildProcess[] = [];
afterAll(() => {
  // Each launcher leads its own process group (detached): end it with the sleeps it started.
  for (const c of started) {
    try {
      process.kill(-c.pid!, "SIGKILL");
    } catch {
      // already gone
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

/** Starts `body` as a script named node-launch, its output in `<node dir>/console.log`. */
function launch(node: string, body: string): NodeRecord {
  const nodeDir = join(dir, node);
  const bin = join(nodeDir, "bin");
  mkdirSync(bin, { recursive: true });
  for (const [name, text] of [
    ["node-launch", `#!/bin/sh\n${body}\n`],
    ["runsvdir", "#!/bin/sh\nsleep 30\n"], // no exec: it keeps the name
  ] as const) {
    writeFileSync(join(bin, name), text);
    chmodSync(join(bin, name), 0o755);
  }
  const log = openSync(join(nodeDir, "console.log"), "a");
  const child = spawn(join(bin, "node-launch"), [], {
    stdio: ["ignore", log, log],
    env: { BIN: bin },
    detached: true,
  });
  closeSync(log);
  started.push(child);
  return { name: node, address: "10.92.9.9", netns: "x", veth: "x", dir: nodeDir, cgroups: [], launcher: child.pid };
}

describe("awaitPid1", () => {
  it("records the launcher's runsvdir child as the node's PID 1", async () => {
    const rec = launch("up", '"$BIN/runsvdir" & wait');
    let saved = 0;
    await awaitPid1(rec, () => saved++, 10_000);
    expect(rec.pid1).toBeGreaterThan(1);
    expect(saved).toBe(1);
  });

  it("fails at once, with the console, when the launcher exits before PID 1 runs", async () => {
    const rec = launch("dead", 'echo "node-init: mount: /etc: permission denied" >&2; exit 1');
    const t0 = Date.now();
    const err = await awaitPid1(rec, () => undefined, 60_000).catch((e: unknown) => e);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(err).toBeInstanceOf(OperationFailedError);
    expect((err as Error).message).toMatch(/^node dead: stopped before its PID 1 \(runsvdir\) started/);
    expect((err as Error).message).toContain("node-init: mount: /etc: permission denied");
    expect((err as Error).message).toContain(join(dir, "dead", "console.log"));
    expect(describeError(err).code).toBe(EXIT.failed);
  });

  it("waits a launcher that still works up to its bound, then says what it was doing", async () => {
    const rec = launch("slow", "sleep 30");
    const err = await awaitPid1(rec, () => undefined, 1_500).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OperationFailedError);
    expect((err as Error).message).toMatch(
      /^node slow: PID 1 \(runsvdir\) has not started within 2 s, though the node is still booting: sleep \(pid \d+\) runs \(load average/,
    );
    expect((err as Error).message).toContain("(the console is empty)");
  });
});
