import { execFileSync } from "node:child_process";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { cmd, raw, shq } from "../../src/infra/shell.js";

const nasty = [
  "plain",
  "",
  "with space",
  "it's",
  "'",
  "''",
  `"double" and \\back\\slash`,
  "$(touch /tmp/yagura-pwned) `id` ${HOME}",
  "a; rm -rf /; b",
  "line1\nline2\n",
  "tab\there",
  "-n",
  "* ? [a-z] ~ ! # & | < >",
  "ünïcödé 漢字",
];

describe("shq", () => {
  it.each(nasty)("round-trips %j exactly through printf %%s in sh", (value) => {
    const out = execFileSync("sh", ["-c", `printf %s ${shq(value)}`], { encoding: "utf8" });
    expect(out).toBe(value);
  });

  it("round-trips arbitrary strings, in one sh run", () => {
    const values = fc.sample(
      fc.string({ unit: "binary", maxLength: 40 }).filter((v) => !v.includes("\0")),
      300,
    );
    // Every value as a NUL-terminated field; one shell for all of them keeps this fast.
    const script = values.map((v) => `printf '%s\\0' ${shq(v)}`).join("\n");
    const out = execFileSync("sh", ["-c", script], { encoding: "utf8", maxBuffer: 1 << 24 });
    expect(out.split("\0").slice(0, -1)).toEqual(values);
  });

  it("leaves plain words readable", () => {
    expect(shq("/etc/kubernetes/pki/etcd/server.crt")).toBe("/etc/kubernetes/pki/etcd/server.crt");
    expect(shq(42)).toBe("42");
    expect(shq("a b")).toBe("'a b'");
  });

  it("refuses NUL, which no shell word can hold", () => {
    expect(() => shq("a\0b")).toThrow(/NUL/);
  });
});

describe("cmd", () => {
  it("quotes every interpolation, splats arrays, and keeps raw fragments", () => {
    const c = cmd`printf '%s|' ${nasty} ${raw("; printf end")}`;
    const out = execFileSync("sh", ["-c", c], { encoding: "utf8" });
    expect(out).toBe(nasty.map((v) => `${v}|`).join("") + "end");
  });
});
