/** The step journal: what an interrupted apply left, fencing, torn lines (the local file store). */
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { fileJournal, journalWriter, openApply, readJournal } from "../../src/rebuild/journal.js";
import type { PlanStep } from "../../src/rebuild/types.js";

const steps: PlanStep[] = [
  { id: "1-drain-cp2", action: "drain", nodes: ["cp2"], why: "" },
  { id: "2-etcd-leave-cp2", action: "etcd-leave", nodes: ["cp2"], why: "" },
  { id: "3-reimage-cp2", action: "reimage", nodes: ["cp2"], why: "" },
];

describe("rebuild journal", () => {
  let dir = "";
  const file = () => join(dir, "rebuild-journal.jsonl");
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const fresh = () => (dir = mkdtempSync(join(tmpdir(), "yagura-journal-")));

  it("an apply without an end is open: finished steps, and the last one that started", async () => {
    fresh();
    const store = fileJournal(file(), () => undefined);
    const j = journalWriter(store, 7);
    const id = await j.begin("sha-a", steps);
    await j.step(id, "1-drain-cp2", "started");
    await j.step(id, "1-drain-cp2", "skipped", "no Kubernetes API: drain skipped");
    await j.step(id, "2-etcd-leave-cp2", "started");
    const open = openApply(await store.read())!;
    expect(open.applyId).toBe(id);
    expect(open.inventorySha).toBe("sha-a");
    expect(open.steps).toEqual(steps);
    expect([...open.finished]).toEqual(["1-drain-cp2"]);
    expect(open.last).toEqual({ stepId: "2-etcd-leave-cp2", status: "started" });
    await j.step(id, "2-etcd-leave-cp2", "failed", "quorum");
    expect(openApply(readJournal(file()))!.finished.has("2-etcd-leave-cp2")).toBe(false);
    await j.end(id, "completed");
    expect(openApply(readJournal(file()))).toBeUndefined();
    expect(readJournal(file()).every((l) => l.token === 7)).toBe(true);
  });

  it("only the newest apply counts; a torn last line after a crash is skipped", async () => {
    fresh();
    const j = journalWriter(
      fileJournal(file(), () => undefined),
      1,
    );
    const first = await j.begin("sha-a", steps);
    await j.end(first, "abandoned");
    const second = await j.begin("sha-b", steps.slice(0, 1));
    await j.step(second, "1-drain-cp2", "done");
    appendFileSync(file(), '{"type":"step","applyId":"' + second + '","stepId":"2-');
    const open = openApply(readJournal(file()))!;
    expect(open.applyId).toBe(second);
    expect([...open.finished]).toEqual(["1-drain-cp2"]);
  });

  it("a writer that lost the lock writes nothing", async () => {
    fresh();
    let fenced = false;
    const j = journalWriter(
      fileJournal(file(), () => {
        if (fenced) throw new Error("lost the environment lock");
      }),
      3,
    );
    const id = await j.begin("sha", steps);
    fenced = true;
    await expect(j.step(id, "1-drain-cp2", "started")).rejects.toThrow(/lost the environment lock/);
    expect(readFileSync(file(), "utf8").trim().split("\n")).toHaveLength(1);
  });
});
