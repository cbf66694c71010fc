/**
 * Repeatable scripts (observe's) in a node's resident shell, against a real sshd on loopback: the
 * same answers as a session of their own, one shell across calls that nothing leaks into, the
 * timeout kills the script's processes on the node, and a shell lost mid-script costs a second run,
 * not an error.
 */
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { shq } from "../../src/infra/shell.js";
import { createSshPool, type SshPool } from "../../src/infra/ssh.js";
import { RESIDENT_COMMAND } from "../../src/infra/ssh-resident.js";
import { CommandTimeoutError } from "../../src/infra/types.js";
import { pgrep, sshdConnections, startSshd, until, type TestSshd } from "./sshd.js";

const HOST = "127.0.0.31";
const PORT = 23831;
let dir: string;
let sshd: TestSshd;
let knownHosts: string;
let pool: SshPool;

const target = (name: string) => ({ name, host: HOST, port: PORT, user: "root" });
const repeatable = (p: SshPool, node: string, script: string, timeoutMs?: number) =>
  p.exec(node, "sh -s", { stdin: script, repeatable: true, ...(timeoutMs ? { timeoutMs } : {}) });
/** Pids of the resident shells on the server (their command line is RESIDENT_COMMAND's last word). */
const residents = (): number[] => pgrep("-f", "-x", "/bin/sh -s");
const connections = (): number[] => sshdConnections(sshd);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "yagura-ssh-resident-"));
  sshd = await startSshd(join(dir, "sshd"), HOST, PORT);
  knownHosts = join(dir, "known_hosts");
  await writeFile(knownHosts, `${sshd.hostKeyLine}\n`);
  pool = createSshPool({
    targets: ["a", "b", "c"].map(target),
    privateKeyPath: sshd.clientKeyPath,
    knownHostsPath: knownHosts,
    connectTimeoutMs: 5000,
  });
});

afterAll(async () => {
  await pool?.close();
  await sshd?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("resident shell", () => {
  it("answers as a session would: output bytes, stderr, exit status, no trailing newline", async () => {
    const scripts = [
      'printf "ünï 漢字\\n%.0s" $(seq 3000); echo err >&2; exit 3\n',
      "printf 'no newline'",
      "echo only-err >&2",
      'printf \'%s\' "$(cat)"; echo "[stdin]"', // stdin is empty in both
      "if then fi", // a syntax error
    ];
    for (const s of scripts) {
      const session = await pool.exec("a", "sh -s", { stdin: `exec </dev/null\n${s}` });
      const resident = await repeatable(pool, "a", s);
      expect(resident, s).toEqual(
        s === "if then fi" ? { ...session, stderr: resident.stderr } : session, // the shells word it differently
      );
    }
    const syntax = await repeatable(pool, "a", "if then fi");
    expect(syntax.code).toBe(2);
    expect(syntax.stderr).toMatch(/syntax error/i);
  });

  it("is one shell across calls, one request at a time, and nothing a script does reaches the next", async () => {
    const before = pool.roundTrips.get("b") ?? 0;
    // $$ in a subshell is the resident shell's pid; a session's sh has a new one each time.
    const first = (await repeatable(pool, "b", "echo $$")).stdout;
    expect((await repeatable(pool, "b", "cd /; X=leaked; set -e; trap 'echo trap' EXIT; exit 5")).code).toBe(5);
    expect(await repeatable(pool, "b", 'echo "$$ $(pwd) ${X-unset}"')).toMatchObject({
      code: 0,
      stdout: `${first.trim()} ${(await pool.run("b", "pwd")).trim()} unset\n`,
    });
    expect(pool.roundTrips.get("b")).toBe(before + 4);
    // Two at once: the second runs as a session of its own, in another shell.
    const [x, y] = await Promise.all([
      repeatable(pool, "b", "sleep 0.3; echo $$"),
      repeatable(pool, "b", "sleep 0.1; echo $$"),
    ]);
    expect(x.stdout).toBe(first);
    expect(y.stdout).not.toBe(first);
    expect(residents()).toContain(Number(first));
    expect(RESIDENT_COMMAND).toMatch(/exec \/bin\/sh -s'$/);
  });

  it("kills a script past its timeout with everything it started, and opens a new shell next time", async () => {
    const pidFile = join(dir, "slow.pid");
    const shell = (await repeatable(pool, "c", "echo $$")).stdout.trim();
    const e = await repeatable(pool, "c", `sleep 31 & echo $! > ${shq(pidFile)}; sleep 32; echo no`, 500).catch(
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(CommandTimeoutError);
    expect(e).toMatchObject({ node: "c", code: 124, timeoutMs: 500 });
    const gone = (pid: string) => {
      try {
        process.kill(Number(pid), 0);
        return false;
      } catch {
        return true;
      }
    };
    const background = (await pool.run("c", `cat ${shq(pidFile)}`)).trim();
    expect(await until(5000, () => gone(shell) && gone(background))).toBe(true);
    const next = await repeatable(pool, "c", "echo $$");
    expect(next.code).toBe(0);
    expect(next.stdout.trim()).not.toBe(shell);
  });

  it("runs a script again as a session when its shell goes away mid-script", async () => {
    const p = createSshPool({ targets: [target("d")], privateKeyPath: sshd.clientKeyPath, knownHostsPath: knownHosts });
    try {
      const shell = (await repeatable(p, "d", "echo $$")).stdout.trim();
      const marks = join(dir, "runs");
      const run = repeatable(p, "d", `echo run >> ${shq(marks)}; sleep 0.5; echo done $$`);
      await new Promise((r) => setTimeout(r, 200));
      process.kill(Number(shell), "SIGKILL");
      const r = await run;
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^done \d+\n$/);
      expect(r.stdout).not.toBe(`done ${shell}\n`);
      expect(readFileSync(marks, "utf8")).toBe("run\nrun\n");
      expect(p.connects.get("d")).toBe(1); // the connection itself was fine
      expect((await repeatable(p, "d", "echo $$")).stdout.trim()).not.toBe(shell); // a new resident
    } finally {
      await p.close();
    }
  });

  it("a command that is not marked repeatable, or not a script on stdin, runs as a session", async () => {
    const shell = (await repeatable(pool, "a", "echo $$")).stdout;
    expect((await pool.exec("a", "sh -s", { stdin: "echo $$" })).stdout).not.toBe(shell);
    expect((await pool.exec("a", "echo $$", { repeatable: true })).stdout).not.toBe(shell);
  });

  it("drops a kept connection whose shell does not acknowledge a request, and runs the script on a new one", async () => {
    // Keepalives every 300 ms; a request on a connection idle that long is acknowledged within 1 s or dropped.
    const p = createSshPool({
      targets: [target("f")],
      privateKeyPath: sshd.clientKeyPath,
      knownHostsPath: knownHosts,
      keepaliveMs: 300,
      connectTimeoutMs: 1000,
    });
    const before = new Set(connections());
    const frozen: number[] = [];
    try {
      await repeatable(p, "f", "true");
      await new Promise((r) => setTimeout(r, 400));
      // The node goes silent: its connection's sshd process stops answering, TCP stays up.
      frozen.push(...connections().filter((pid) => !before.has(pid)));
      expect(frozen).toHaveLength(1);
      for (const pid of frozen) process.kill(pid, "SIGSTOP");
      expect(await repeatable(p, "f", "echo fresh")).toMatchObject({ code: 0, stdout: "fresh\n" });
      expect(p.connects.get("f")).toBe(2);
    } finally {
      for (const pid of frozen) process.kill(pid, "SIGCONT");
      await p.close();
    }
  });

  it("leaves no shell behind when the pool closes", async () => {
    const p = createSshPool({ targets: [target("e")], privateKeyPath: sshd.clientKeyPath, knownHostsPath: knownHosts });
    const shell = Number((await repeatable(p, "e", "echo $$")).stdout);
    expect(residents()).toContain(shell);
    await p.close();
    expect(await until(5000, () => !residents().includes(shell))).toBe(true);
  });
});
