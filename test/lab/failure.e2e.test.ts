/**
 * A failed `lab up` removes what it created. The failure is real: a netns with the name the lab
 * wants for one node already exists, so `ip netns add` fails half-way through the run.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import { labContext, labDown, labUp } from "../../src/lab/index.js";
import { labInventory, labSkipReason, linksWith, netnsWith, specFrom } from "./helpers.js";

const skip = labSkipReason();
if (skip) console.warn(skip);

describe.skipIf(skip !== undefined)("a failed lab up", () => {
  const root = skip ? "" : mkdtempSync(join(tmpdir(), "yagura-lab-fail-"));
  const env = "failing";
  const ctx = labContext(env, { stateRoot: root });

  afterAll(async () => {
    if (skip) return;
    await labDown(env, { stateRoot: root }).catch(() => {});
    const stray = ctx.names.netns("f2");
    if (existsSync(join("/run/netns", stray))) execFileSync("ip", ["netns", "del", stray]);
    rmSync(root, { recursive: true, force: true });
  });

  it("leaves no namespace, link, cgroup or lab dir behind", async () => {
    const spec = specFrom(
      env,
      labInventory("ygt2fail", "10.78.2.0/24", [
        ["f1", "10.78.2.11", "control-plane"],
        ["f2", "10.78.2.12", "worker"],
      ]),
    );
    execFileSync("ip", ["netns", "add", ctx.names.netns("f2")]);
    await expect(labUp(spec, { stateRoot: root })).rejects.toThrow(/File exists/);
    expect(netnsWith(ctx.names.netnsPrefix)).toEqual([]);
    expect(linksWith(ctx.names.vethPrefix, "ygt2fail")).toEqual([]);
    expect(existsSync(ctx.labDir)).toBe(false);
    expect(
      execFileSync("sh", [
        "-c",
        `find /sys/fs/cgroup -maxdepth 6 -name '${ctx.names.cgroupGroup}' 2>/dev/null; true`,
      ]).toString(),
    ).toBe("");
  }, 60_000);
});
