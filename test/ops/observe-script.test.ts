import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { observeScript, type ObservePlan } from "../../src/observe/script.js";
import { parseObservation } from "../../src/observe/parse.js";
import { runitSupervisor } from "../../src/supervisor/runit.js";
import type { Supervisor } from "../../src/supervisor/types.js";
import { sha256 } from "../../src/supervisor/fingerprint.js";

const fakeSup = (json: string): Supervisor => ({ ...runitSupervisor(), observeSnippet: () => `printf '%s' '${json}'` });

describe("observe script", () => {
  it("reports prerequisites, file hashes, service state and data dir in one JSON object", () => {
    const dir = mkdtempSync(join(tmpdir(), "yagura-observe-"));
    writeFileSync(join(dir, "a"), "hello");
    // A name with a space and a quote, and one whose name another one extends: matched whole.
    writeFileSync(join(dir, "b it's"), "world");
    writeFileSync(join(dir, "a.old"), "older");
    mkdirSync(join(dir, "data", "member"), { recursive: true });
    const plan: ObservePlan = {
      prerequisites: [
        { kind: "command", path: "sh", hint: "dash" },
        { kind: "file", path: join(dir, "no-such-binary"), hint: "etcd-server" },
        { kind: "dir", path: dir, hint: "a dir" },
      ],
      files: [join(dir, "a"), join(dir, "missing file"), join(dir, "b it's"), join(dir, "a.old")],
      components: ["etcd"],
      supervisor: fakeSup('{"present":true,"running":true,"pid":42}'),
      etcdDataDir: join(dir, "data"),
    };
    const out = execFileSync("sh", ["-s"], { input: observeScript(plan) }).toString();
    const st = parseObservation("n1", plan, out.trim());
    expect(st.prerequisites).toEqual({ ok: false, missing: [`${join(dir, "no-such-binary")} (etcd-server)`] });
    expect(st.files).toEqual({
      [join(dir, "a")]: sha256("hello"),
      [join(dir, "b it's")]: sha256("world"),
      [join(dir, "a.old")]: sha256("older"),
    });
    // One sha256sum for all of them, and no other process per file.
    expect(observeScript(plan).match(/sha256sum/g)).toHaveLength(1);
    expect(st.services.etcd).toMatchObject({ present: true, running: true, pid: 42 });
    expect(st.etcdData).toEqual({ present: true, hasMember: true });
  });

  it("the runit snippet reports an absent service as not present", () => {
    const plan: ObservePlan = {
      prerequisites: [],
      files: [],
      components: ["yagura-test-none"],
      supervisor: runitSupervisor(),
      etcdDataDir: "/nonexistent-yagura",
    };
    const out = execFileSync("sh", ["-s"], { input: observeScript(plan) }).toString();
    const st = parseObservation("n1", plan, out.trim());
    expect(st.services["yagura-test-none"]).toEqual({ present: false, running: false });
    expect(st.etcdData).toEqual({ present: false, hasMember: false });
  });

  it("rejects output that does not match the plan", () => {
    const plan: ObservePlan = {
      prerequisites: [],
      files: ["/x"],
      components: [],
      supervisor: runitSupervisor(),
      etcdDataDir: "/d",
    };
    expect(() => parseObservation("n1", plan, "not json")).toThrow(/not JSON/);
    expect(() => parseObservation("n1", plan, '{"missing":[],"services":[{}],"etcdData":{}}')).toThrow(
      /does not match/,
    );
    expect(() => parseObservation("n1", plan, '{"services":[],"etcdData":{}}')).toThrow(/does not match/);
    // A digest line for another path, or a malformed one, gives the planned file no digest.
    const st = parseObservation(
      "n1",
      plan,
      `{"missing":[],"services":[],"etcdData":{}}\n${"a".repeat(64)}  /x.old\n${"b".repeat(63)}  /x`,
    );
    expect(st.files).toEqual({});
    expect(() => observeScript({ ...plan, files: ["/etc/a\\b"] })).toThrow(/backslash/);
  });
});
