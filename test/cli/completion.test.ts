import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { Command } from "commander";
import { bashScript, completionTree, zshScript } from "../../src/cli/completion.js";
import { buildProgram } from "../../src/cli/main.js";

const dir = mkdtempSync(join(tmpdir(), "yagura-completion-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const shellFound = (shell: string) => spawnSync(shell, ["-c", "exit 0"]).status === 0;

/** Sources the bash script in a real bash and asks it to complete `words` (the last one at the cursor). */
function bash(program: Command, ...words: string[]): string[] {
  const file = join(dir, `c-${Math.random().toString(36).slice(2)}.bash`);
  writeFileSync(file, bashScript(program));
  const r = spawnSync(
    "bash",
    [
      "--norc",
      "-c",
      'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _yagura; printf "%s\\n" "${COMPREPLY[@]}"',
      "bash",
      file,
      "yagura",
      ...words,
    ],
    { encoding: "utf8", cwd: dir },
  );
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  return r.stdout.split("\n").filter(Boolean);
}

describe("yagura completion bash", () => {
  const program = buildProgram();

  it("completes every registered command at the top level", () => {
    const names = program.commands.map((c) => c.name());
    expect(names).toContain("completion");
    expect(bash(program, "").sort()).toEqual([...names, "help"].sort());
    expect(bash(program, "re").sort()).toEqual(names.filter((n) => n.startsWith("re")).sort());
  });

  it("completes a subcommand's own options, and subcommands of a group", () => {
    const opts = bash(program, "reconcile", "--");
    for (const o of ["--watch", "--scope", "--max-passes", "--metrics-addr", "--state", "--help"])
      expect(opts).toContain(o);
    expect(opts).not.toContain("--json");
    expect(bash(program, "status", "--")).toContain("--json");
    expect(bash(program, "lab", "")).toEqual(["up", "down", "status", "help"]);
    expect(bash(program, "lab", "up", "--")).toContain("--no-wait");
    expect(bash(program, "--")).toEqual(expect.arrayContaining(["--version", "--inventory-dir", "--stack-outputs"]));
  });

  it("completes <env> to the inventory's environments, also from --inventory-dir", () => {
    const envs = bash(program, "validate", "");
    expect(envs).toEqual(expect.arrayContaining(["lab", "example"]));
    expect(bash(program, "etcd", "restore", "l")).toContain("lab");
    const inv = join(dir, "inv");
    mkdirSync(inv, { recursive: true });
    writeFileSync(join(inv, "staging-eu.yaml"), "");
    expect(bash(program, "--inventory-dir", inv, "reconcile", "st")).toEqual(["staging-eu"]);
    // past the last argument nothing completes
    expect(bash(program, "validate", "lab", "")).toEqual([]);
  });

  it("completes an option's value as a file or from its choices, never as a command", () => {
    writeFileSync(join(dir, "snapshot-1.db"), "");
    expect(bash(program, "etcd", "restore", "lab", "--snapshot", "snap")).toEqual(["snapshot-1.db"]);
    // --out takes a value: "x" is that value, so the word after it is the <env> argument
    expect(bash(program, "render", "--out", "x", "la")).toEqual(["lab"]);
    expect(bash(program, "completion", "")).toEqual(["bash", "zsh"]);
  });

  it("follows the command tree: a command added to a program completes with its options", () => {
    const p = buildProgram();
    const fleet = p.command("fleet").description("a group added after the fact");
    fleet.command("rotate").argument("<env>").option("--widget <name>", "a valued option").option("--dry-run");
    expect(bash(p, "")).toContain("fleet");
    expect(bash(p, "fleet", "")).toEqual(["rotate", "help"]);
    expect(bash(p, "fleet", "rotate", "--")).toEqual(["--widget", "--dry-run", "--help"]);
    expect(bash(p, "fleet", "rotate", "--widget", "lab", "")).toEqual(expect.arrayContaining(["lab", "example"]));
    expect(completionTree(p).find((e) => e.path.join(" ") === "fleet rotate")?.valued).toEqual(["--widget"]);
    // the unchanged program does not know it
    expect(bash(program, "")).not.toContain("fleet");
  });
});

describe.skipIf(!shellFound("zsh"))("yagura completion zsh (in a real zsh)", () => {
  const program = buildProgram();
  /**
   * compadd and _files work only inside zsh's line editor, so they are recorders here: the test
   * runs the script's own logic (the walk, word splitting, the tables) in a real zsh.
   */
  function zsh(...words: string[]): string {
    const file = join(dir, "_yagura");
    writeFileSync(file, zshScript(program));
    const r = spawnSync(
      "zsh",
      [
        "-f",
        "-c",
        [
          "compdef() { :; }",
          'compadd() { [[ $1 == -- ]] && shift; print -rn -- "$* "; }',
          '_files() { print -rn -- "<files$*> "; }',
          'source "$1"; shift',
          'words=(yagura "$@"); CURRENT=$#words; _yagura',
        ].join("\n"),
        "zsh",
        file,
        ...words,
      ],
      { encoding: "utf8", cwd: dir },
    );
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    return r.stdout.trim();
  }

  it("completes commands, a subcommand's options, environments and choices", () => {
    expect(zsh("").split(" ").sort()).toEqual([...program.commands.map((c) => c.name()), "help"].sort());
    expect(zsh("lab", "")).toBe("up down status help");
    expect(zsh("reconcile", "--").split(" ")).toEqual(expect.arrayContaining(["--watch", "--scope", "--state"]));
    expect(zsh("validate", "")).toMatch(/^example lab <files>$/);
    expect(zsh("completion", "")).toBe("bash zsh");
    expect(zsh("--inventory-dir", "/nonexistent", "validate", "")).toBe("<files>");
    expect(zsh("render", "lab", "--out", "")).toBe("<files>");
  });

  it("registers itself with compinit when sourced", () => {
    const file = join(dir, "c.zsh");
    writeFileSync(file, zshScript(program));
    const s = spawnSync(
      "zsh",
      [
        "-f",
        "-c",
        'autoload -U compinit && compinit -u -d "$2" && source "$1" && print -r -- $_comps[yagura] $_comps[yagura.mjs]',
        "zsh",
        file,
        join(dir, "zcompdump"),
      ],
      { encoding: "utf8" },
    );
    expect(s.stderr).toBe("");
    expect(s.stdout.trim()).toBe("_yagura _yagura");
  }, 120_000); // compinit reads every completion function zsh ships: seconds on a busy machine
});
