/** The lab's lock file: callers in one process queue up; a dead holder's lock is taken over. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { withLock } from "../../src/lab/lock.js";

const dir = mkdtempSync(join(tmpdir(), "yagura-lock-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const busy = (pid: number): never => {
  throw new Error(`busy ${pid}`);
};

describe("withLock", () => {
  it("runs two callers of one process one after the other", async () => {
    const path = join(dir, "a.lock");
    const events: string[] = [];
    const job = (name: string) =>
      withLock(
        path,
        async () => {
          events.push(`${name} in`);
          await new Promise((r) => setTimeout(r, 100));
          events.push(`${name} out`);
        },
        5000,
        busy,
      );
    await Promise.all([job("one"), job("two")]);
    expect(events).toEqual(["one in", "one out", "two in", "two out"]);
  });

  it("takes over a lock whose holder is gone", async () => {
    const path = join(dir, "b.lock");
    writeFileSync(path, "999999999"); // no such pid
    expect(await withLock(path, async () => "ran", 100, busy)).toBe("ran");
  });

  it("gives up on a live holder after the wait", async () => {
    const path = join(dir, "c.lock");
    writeFileSync(path, "1"); // pid 1 is always alive
    await expect(withLock(path, async () => "ran", 100, busy)).rejects.toThrow("busy 1");
  });
});
