import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { shq } from "../../src/infra/shell.js";
import { createSshPool, withRemoteTimeout } from "../../src/infra/ssh.js";
import { generateHostKey } from "../../src/pki/host-keys.js";
import {
  CommandError,
  CommandTimeoutError,
  HostKeyMismatchError,
  NodeUnreachableError,
  type NodeShell,
} from "../../src/infra/types.js";
import { sshdConnections, startSshd, type TestSshd } from "./sshd.js";

const HOST = "127.0.0.23";
const PORT = 23722;
let dir: string;
let sshd: TestSshd;
let pool: NodeShell;
let knownHosts: string;

const target = (name: string, port = PORT, host = HOST) => ({ name, host, port, user: "root" });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "yagura-ssh-"));
  sshd = await startSshd(join(dir, "sshd"), HOST, PORT);
  knownHosts = join(dir, "known_hosts");
  await writeFile(knownHosts, `# pinned for the test\n${sshd.hostKeyLine} test\n`);
  pool = createSshPool({
    // Four names for the one server: enough to exercise per-node connections and the bound.
    targets: ["n1", "n2", "n3", "n4"].map((n) => target(n)),
    privateKeyPath: sshd.clientKeyPath,
    knownHostsPath: knownHosts,
    concurrency: 2,
    connectTimeoutMs: 5000,
  });
});

afterAll(async () => {
  await pool?.close();
  await sshd?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("ssh pool", () => {
  it("runs commands and reports exit codes, stdout and stderr", async () => {
    expect(await pool.exec("n1", "echo out; echo err >&2; exit 3")).toEqual({
      code: 3,
      stdout: "out\n",
      stderr: "err\n",
    });
    expect(await pool.run("n1", "printf hello")).toBe("hello");
    const e = await pool.run("n1", "echo nope >&2; exit 7").catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CommandError);
    expect(e).toMatchObject({ node: "n1", code: 7, stderr: "nope\n", command: "echo nope >&2; exit 7" });
  });

  it("feeds stdin and keeps output bytes intact", async () => {
    const text = "ünïcödé 漢字\n".repeat(5000); // many chunks: multi-byte characters straddle them
    expect(await pool.run("n1", "cat", { stdin: text })).toBe(text);
  });

  it("reuses one connection per node and counts round trips", async () => {
    const before = pool.roundTrips.get("n2") ?? 0;
    const pids = new Set<string>();
    // $PPID of the remote shell is the per-connection sshd process.
    for (let i = 0; i < 3; i++) pids.add((await pool.run("n2", "ps -o ppid= -p $PPID")).trim());
    expect(pids.size).toBe(1);
    expect(pool.roundTrips.get("n2")).toBe(before + 3);
  });

  it("uploads atomically with mode, leaving no temp file", async () => {
    const path = join(dir, "remote", "sub dir", "secret's.key");
    const body = Buffer.from([0, 1, 2, 255, 10, 13, 39, 36]);
    const before = pool.roundTrips.get("n1") ?? 0;
    await pool.upload("n1", path, body, { mode: 0o600, owner: "root:root" });
    expect(pool.roundTrips.get("n1")).toBe(before + 1); // one round trip
    expect(await pool.run("n1", `stat -c '%a %U' ${shq(path)}`)).toBe("600 root\n");
    expect(await pool.run("n1", `od -An -tu1 ${shq(path)} | tr -s ' '`)).toBe(" 0 1 2 255 10 13 39 36\n");
    await pool.upload("n1", path, "second\n", { mode: 0o644 });
    expect(await pool.run("n1", `cat ${shq(path)}; stat -c %a ${shq(path)}`)).toBe("second\n644\n");
    expect(await pool.run("n1", `ls -A ${shq(join(dir, "remote", "sub dir"))}`)).toBe("secret's.key\n");
  });

  it("leaves the old file and no temp file when an upload fails", async () => {
    const path = join(dir, "remote", "kept");
    await pool.upload("n1", path, "old", { mode: 0o644 });
    const e = await pool
      .upload("n1", path, "new", { mode: 0o644, owner: "no-such-user-yagura" })
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CommandError);
    expect(await pool.run("n1", `cat ${shq(path)}; ls -A ${shq(join(dir, "remote"))}`)).toBe("oldkept\nsub dir\n");
  });

  it("runs at most `concurrency` commands at once across nodes", async () => {
    const lockDir = join(dir, "running");
    await pool.run("n1", `mkdir -p ${shq(lockDir)}`);
    // Each command records how many peers are running beside it, then lingers.
    const probe = (i: number) =>
      `touch ${shq(`${lockDir}/${i}`)}; ls ${shq(lockDir)} | wc -l >> ${shq(`${dir}/seen`)}; sleep 0.3; rm ${shq(`${lockDir}/${i}`)}`;
    await Promise.all([1, 2, 3, 4, 5, 6, 7, 8].map((i) => pool.run(`n${(i % 4) + 1}`, probe(i))));
    const seen = (await pool.run("n1", `cat ${shq(`${dir}/seen`)}`)).trim().split("\n").map(Number);
    expect(seen).toHaveLength(8);
    expect(Math.max(...seen)).toBeLessThanOrEqual(2);
  });

  it("kills a command that outlives its timeout", async () => {
    const pidFile = join(dir, "slow.pid");
    const e = await pool
      .exec("n3", `echo $$ > ${shq(pidFile)}; exec sleep 30`, { timeoutMs: 500 })
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CommandTimeoutError);
    expect(e).toMatchObject({ node: "n3", code: 124, timeoutMs: 500 });
    expect((e as Error).message).toMatch(/timed out after 500 ms/);
    expect(await pool.run("n3", "echo still usable")).toBe("still usable\n");
    // The remote process is killed too, not left behind (sshd delivers the signal asynchronously).
    const alive = `kill -0 $(cat ${shq(pidFile)}) 2>/dev/null && echo alive || echo gone`;
    let state = "";
    for (let i = 0; i < 40 && state !== "gone\n"; i++) state = await pool.run("n3", alive);
    expect(state).toBe("gone\n");
  });

  it("a script on stdin runs under the node's timeout too: /bin/sh reads it, and is killed when time is up", async () => {
    expect(withRemoteTimeout("sh -s", 1500)).toBe("exec timeout -k 5 1.500 /bin/sh -s");
    expect(await pool.run("n2", "sh -s", { stdin: 'printf "%s|" "$0" "$#"; echo ok\n' })).toBe("/bin/sh|0|ok\n");
    const pidFile = join(dir, "script.pid");
    const e = await pool
      .exec("n2", "sh -s", { stdin: `echo $$ > ${shq(pidFile)}\nexec sleep 30\n`, timeoutMs: 500 })
      .catch((x: unknown) => x);
    expect(e).toMatchObject({ node: "n2", code: 124, timeoutMs: 500 });
    const alive = `kill -0 $(cat ${shq(pidFile)}) 2>/dev/null && echo alive || echo gone`;
    let state = "";
    for (let i = 0; i < 40 && state !== "gone\n"; i++) state = await pool.run("n2", alive);
    expect(state).toBe("gone\n");
  });

  it("gives up on a node that stops answering mid-command, and reconnects next time", async () => {
    const p = createSshPool({
      targets: [target("frozen")],
      privateKeyPath: sshd.clientKeyPath,
      knownHostsPath: knownHosts,
      graceMs: 300,
    });
    await p.run("frozen", "true");
    // Freeze this connection's sshd process (a child of the sshd this test started): the node's
    // own timeout(1) can no longer report back, so only the pool's backstop can end the call.
    const sessions = sshdConnections(sshd);
    const before = new Set(sessions);
    for (const pid of sessions) process.kill(pid, "SIGSTOP");
    try {
      await expect(p.exec("frozen", "sleep 30", { timeoutMs: 200 })).rejects.toThrow(CommandTimeoutError);
    } finally {
      // Every session of this server was frozen, the main pool's too: thaw them all.
      for (const pid of sessions) process.kill(pid, "SIGCONT");
    }
    expect(await p.run("frozen", "echo back")).toBe("back\n");
    const now = sshdConnections(sshd);
    expect(now.some((pid) => !before.has(pid))).toBe(true); // a new connection
    await p.close();
  });

  it("reports a server that accepts TCP but never speaks SSH as unreachable", async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(23798, HOST, r));
    try {
      const p = createSshPool({
        targets: [target("mute", 23798)],
        privateKeyPath: sshd.clientKeyPath,
        knownHostsPath: knownHosts,
        connectTimeoutMs: 300,
      });
      await expect(p.exec("mute", "true")).rejects.toThrow(NodeUnreachableError);
      await p.close();
    } finally {
      silent.close();
      await new Promise((r) => setImmediate(r));
    }
  });

  it("opens at most `connectConcurrency` connections at once, while more commands than that may run", async () => {
    // A server that takes TCP and never speaks SSH: every connect waits out its timeout, so the
    // sockets open at once are the handshakes in flight.
    let open = 0;
    let most = 0;
    const mute = createServer((sock) => {
      most = Math.max(most, ++open);
      sock.on("close", () => open--);
      sock.resume(); // read what comes, so the client's close is seen
    });
    await new Promise<void>((r) => mute.listen(0, HOST, r));
    const port = (mute.address() as { port: number }).port;
    try {
      const names = ["m1", "m2", "m3", "m4", "m5", "m6"];
      const p = createSshPool({
        targets: names.map((n) => target(n, port)),
        privateKeyPath: sshd.clientKeyPath,
        knownHostsPath: knownHosts,
        connectTimeoutMs: 300,
        connectConcurrency: 2,
        concurrency: 6,
      });
      const results = await Promise.allSettled(names.map((n) => p.exec(n, "true")));
      expect(results.every((r) => r.status === "rejected")).toBe(true);
      expect(most).toBe(2);
      await p.close();
    } finally {
      mute.close();
      await new Promise((r) => setImmediate(r));
    }
  });

  it("refuses a changed host key, naming node, fingerprints and file", async () => {
    const wrong = join(dir, "known_hosts_wrong");
    // A different, valid ed25519 key pinned for the host.
    await writeFile(
      wrong,
      `[${HOST}]:${PORT} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n`,
    );
    const p = createSshPool({ targets: [target("cp-1")], privateKeyPath: sshd.clientKeyPath, knownHostsPath: wrong });
    const e = await p.exec("cp-1", "true").catch((x: unknown) => x);
    expect(e).toBeInstanceOf(HostKeyMismatchError);
    const msg = (e as Error).message;
    expect(msg).toContain("cp-1");
    expect(msg).toContain(wrong);
    expect(msg).toMatch(/expected SHA256:[A-Za-z0-9+/]{43}, the server presents SHA256:[A-Za-z0-9+/]{43}/);
    expect((e as HostKeyMismatchError).details).toMatchObject({
      node: "cp-1",
      knownHostsPath: wrong,
      expected: [expect.stringMatching(/^SHA256:/)],
    });
    // Remembered for the pass: the second call fails the same way without another handshake.
    await expect(p.exec("cp-1", "true")).rejects.toBe(e);
    expect(p.roundTrips.get("cp-1")).toBeUndefined();
    await p.close();
  });

  it("refuses a host that is not pinned at all", async () => {
    const empty = join(dir, "known_hosts_empty");
    await writeFile(empty, `[${HOST}]:${PORT + 1} ${sshd.hostKeyLine.split(" ").slice(1).join(" ")}\n`);
    const p = createSshPool({ targets: [target("cp-2")], privateKeyPath: sshd.clientKeyPath, knownHostsPath: empty });
    await expect(p.exec("cp-2", "true")).rejects.toThrow(HostKeyMismatchError);
    await expect(p.exec("cp-2", "true")).rejects.toThrow(/no host key .* is pinned/);
    await p.close();
  });

  it("accepts a node by the host key yagura issued, with nothing in known_hosts; refuses another and a revoked one", async () => {
    // sshd serving an issued key, as a server the stack created (or replaced) does through cloud-init.
    const issued = generateHostKey("cp-9");
    const other = generateHostKey("cp-9");
    const s2 = await startSshd(join(dir, "sshd-issued"), HOST, PORT + 2, sshd.clientKeyPath, ["ed25519"], issued);
    try {
      const empty = join(dir, "known_hosts_none");
      await writeFile(empty, "");
      const t = { ...target("cp-9", PORT + 2), hostKeys: [issued.publicKey] };
      const ok = createSshPool({ targets: [t], privateKeyPath: sshd.clientKeyPath, knownHostsPath: empty });
      expect((await ok.exec("cp-9", "echo hi")).stdout).toBe("hi\n");
      await ok.close();
      const wrong = createSshPool({
        targets: [{ ...t, hostKeys: [other.publicKey] }],
        privateKeyPath: sshd.clientKeyPath,
        knownHostsPath: empty,
      });
      await expect(wrong.exec("cp-9", "true")).rejects.toThrow(
        /host key changed: expected SHA256:.* treat this as an attack/,
      );
      await wrong.close();
      const revokedFile = join(dir, "known_hosts_revoked");
      await writeFile(revokedFile, `@revoked * ${issued.publicKey}\n`);
      const revoked = createSshPool({ targets: [t], privateKeyPath: sshd.clientKeyPath, knownHostsPath: revokedFile });
      await expect(revoked.exec("cp-9", "true")).rejects.toThrow(/marked @revoked/);
      await revoked.close();
    } finally {
      await s2.stop();
    }
  });

  it("reports a closed port as NodeUnreachableError, and an unknown node as a bug", async () => {
    const p = createSshPool({
      targets: [target("gone", 23799)],
      privateKeyPath: sshd.clientKeyPath,
      knownHostsPath: knownHosts,
      connectTimeoutMs: 2000,
    });
    const e = await p.exec("gone", "true").catch((x: unknown) => x);
    expect(e).toBeInstanceOf(NodeUnreachableError);
    expect((e as Error).message).toMatch(/gone \(root@127\.0\.0\.23:23799\): .*ECONNREFUSED/);
    await expect(p.exec("nobody", "true")).rejects.toThrow(/unknown node/);
    await p.close();
  });
});
