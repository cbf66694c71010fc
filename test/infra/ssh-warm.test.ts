/**
 * The SSH pool kept from pass to pass (reconcile --watch, apply), against a real sshd on loopback:
 * connections are counted on the server (the per-connection sshd processes, children of the
 * listener this test started) and by the pool.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSshPool } from "../../src/infra/ssh.js";
import { HostKeyMismatchError } from "../../src/infra/types.js";
import { sshdConnections, startSshd, until, type TestSshd } from "./sshd.js";

const HOST = "127.0.0.24";
const PORT = 23822;
/** A valid ed25519 key that the test server does not hold. */
const OTHER_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
let dir: string;
let sshd: TestSshd;
let knownHosts: string;

const target = (name: string) => ({ name, host: HOST, port: PORT, user: "root" });
const pool = (o: { keepaliveMs?: number; connectTimeoutMs?: number } = {}) =>
  createSshPool({
    targets: ["a", "b"].map(target),
    privateKeyPath: sshd.clientKeyPath,
    knownHostsPath: knownHosts,
    connectTimeoutMs: 5000,
    ...o,
  });

/** The sshd processes serving one connection each (children of the listener). */
const sessions = (): number[] => sshdConnections(sshd);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "yagura-ssh-warm-"));
  sshd = await startSshd(join(dir, "sshd"), HOST, PORT);
  knownHosts = join(dir, "known_hosts");
});

afterAll(async () => {
  await sshd?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("ssh pool across passes", () => {
  it("keeps its connections for the next pass, and closes those of nodes gone or changed", async () => {
    await writeFile(knownHosts, `${sshd.hostKeyLine}\n`);
    const p = pool();
    try {
      await Promise.all([p.run("a", "true"), p.run("b", "true")]);
      const first = new Set(sessions());
      expect(first.size).toBe(2);
      p.setTargets(["a", "b"].map(target));
      p.beginPass();
      expect(await p.run("a", "echo again")).toBe("again\n");
      await p.run("b", "true");
      expect([...p.connects.values()]).toEqual([1, 1]);
      expect(p.roundTrips.get("a")).toBe(2);
      expect(new Set(sessions())).toEqual(first);

      // b leaves the inventory: its connection closes, on the server too.
      p.setTargets([target("a")]);
      expect(p.connected()).toEqual(["a"]);
      expect(await until(5000, () => sessions().length === 1)).toBe(true);
      await expect(p.exec("b", "true")).rejects.toThrow(/unknown node "b"/);

      // a's issued key changes: the connection made under the old pins is closed, the next one checks the new.
      p.setTargets([{ ...target("a"), hostKeys: [sshd.hostKeyLine.split(" ").slice(1).join(" ")] }]);
      expect(await until(5000, () => sessions().length === 0)).toBe(true);
      await p.run("a", "true");
      expect(p.connects.get("a")).toBe(2);
    } finally {
      await p.close();
    }
    expect(await until(5000, () => sessions().length === 0)).toBe(true);
  });

  it("remembers a failed connect for the pass, tries again in the next with known_hosts as it is then", async () => {
    await writeFile(knownHosts, `[${HOST}]:${PORT} ${OTHER_KEY}\n`);
    const p = pool();
    try {
      const e = await p.exec("a", "true").catch((x: unknown) => x);
      expect(e).toBeInstanceOf(HostKeyMismatchError);
      // The operator fixes the pin while the pass runs: this pass still fails without a handshake.
      await writeFile(knownHosts, `${sshd.hostKeyLine}\n`);
      await expect(p.exec("a", "true")).rejects.toBe(e);
      expect(p.connects.get("a")).toBe(1);
      p.beginPass();
      expect(await p.run("a", "echo in")).toBe("in\n");
      expect(p.connects.get("a")).toBe(2);
    } finally {
      await p.close();
    }
  });

  it("reconnects a connection that was cut, checking the host key again", async () => {
    await writeFile(knownHosts, `${sshd.hostKeyLine}\n`);
    const p = pool();
    try {
      await p.run("a", "true");
      const [s] = sessions();
      process.kill(s!, "SIGKILL");
      expect(await until(5000, () => p.connected().length === 0)).toBe(true);
      p.beginPass();
      expect(await p.run("a", "echo back")).toBe("back\n");
      expect(p.connects.get("a")).toBe(2);

      // Cut again, and now the pinned key is another one (as when the server's key changed): refused.
      process.kill(sessions()[0]!, "SIGKILL");
      expect(await until(5000, () => p.connected().length === 0)).toBe(true);
      await writeFile(knownHosts, `[${HOST}]:${PORT} ${OTHER_KEY}\n`);
      p.beginPass();
      const e = await p.exec("a", "true").catch((x: unknown) => x);
      expect(e).toBeInstanceOf(HostKeyMismatchError);
      expect((e as Error).message).toMatch(
        /^a \(root@127\.0\.0\.24:23822\): host key changed: expected SHA256:\S+, the server presents SHA256:\S+/,
      );
      expect(p.roundTrips.get("a")).toBe(2);
    } finally {
      await p.close();
    }
  });

  it("replaces a kept connection that went silent before its command runs", async () => {
    await writeFile(knownHosts, `${sshd.hostKeyLine}\n`);
    // Keepalives every 300 ms; a channel must open within 1 s on a connection idle that long.
    const p = pool({ keepaliveMs: 300, connectTimeoutMs: 1000 });
    const frozen: number[] = [];
    try {
      await p.run("a", "true");
      await new Promise((r) => setTimeout(r, 400));
      // The node goes silent: its connection's sshd process stops answering, TCP stays up.
      frozen.push(...sessions());
      for (const pid of frozen) process.kill(pid, "SIGSTOP");
      expect(await p.run("a", "echo fresh")).toBe("fresh\n");
      expect(p.connects.get("a")).toBe(2);
      expect(sessions().filter((s) => !frozen.includes(s))).toHaveLength(1);
    } finally {
      for (const pid of frozen) process.kill(pid, "SIGCONT");
      await p.close();
    }
  });
});
