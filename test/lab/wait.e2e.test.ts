/**
 * `lab up` on a node that dies while it starts: the readiness wait fails at once (not after its
 * bound) with an operation error that names the node and shows its console, and the failed run
 * removes what it created. The death is real: the node's PID 1 is killed as soon as it is recorded.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { describeError, EXIT, OperationFailedError } from "../../src/cli/errors.js";
import { labContext, labDown, labUp } from "../../src/lab/index.js";
import { labInventory, labSkipReason, linksWith, netnsWith, specFrom } from "./helpers.js";

const skip = labSkipReason();
if (skip) console.warn(skip);

describe.skipIf(skip !== undefined)("lab up with a node that dies while starting", () => {
  const root = skip ? "" : mkdtempSync(join(tmpdir(), "yagura-lab-wait-"));
  const env = "dying";
  const ctx = labContext(env, { stateRoot: root });

  afterAll(async () => {
    if (skip) return;
    await labDown(env, { stateRoot: root }).catch(() => {});
    rmSync(root, { recursive: true, force: true });
  });

  it("fails fast naming the node and its console, as an operation failure, and cleans up", async () => {
    const spec = specFrom(
      env,
      labInventory("ygbr94wait", "10.94.0.0/24", [
        ["d1", "10.94.0.11", "control-plane"],
        ["d2", "10.94.0.12", "worker"],
      ]),
    );
    const t0 = Date.now();
    const err = await labUp(spec, {
      stateRoot: root,
      pauseImage: false,
      onProgress: (line) => {
        const m = /^ {2}d2 .* started \(pid (\d+)\)$/.exec(line);
        if (m) process.kill(Number(m[1]), "SIGKILL");
      },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OperationFailedError);
    const msg = (err as Error).message;
    expect(msg).toMatch(
      /^lab dying: node d2 \(10\.94\.0\.12\) stopped while starting: its PID 1 \(runsvdir, pid \d+\) is gone/,
    );
    expect(msg).toContain(join(ctx.nodesDir, "d2", "console.log"));
    expect(describeError(err).code).toBe(EXIT.failed);
    expect(Date.now() - t0).toBeLessThan(60_000); // the wait's bound for two nodes is 182 s
    expect(netnsWith(ctx.names.netnsPrefix)).toEqual([]);
    expect(linksWith(ctx.names.vethPrefix, "ygbr94wait")).toEqual([]);
    expect(existsSync(ctx.labDir)).toBe(false);
  }, 90_000);
});
