import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fingerprint, knownHostsName, parseKnownHosts } from "../../src/infra/known-hosts.js";
import { createSshPool } from "../../src/infra/ssh.js";
import { HostKeyMismatchError } from "../../src/infra/types.js";
import { startSshd, type TestSshd } from "./sshd.js";

const HOST = "127.0.0.23";
const PORT = 23723;
let dir: string;
let sshd: TestSshd;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "yagura-kh-"));
  // Two host keys: the client must ask for the pinned type, or it may be shown the other one.
  sshd = await startSshd(join(dir, "sshd"), HOST, PORT, undefined, ["ed25519", "ecdsa"]);
});
afterAll(async () => {
  await sshd?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function tryWith(knownHostsText: string): Promise<unknown> {
  const path = join(dir, `kh-${Math.random()}`);
  await writeFile(path, knownHostsText);
  const pool = createSshPool({
    targets: [{ name: "cp-1", host: HOST, port: PORT, user: "root" }],
    privateKeyPath: sshd.clientKeyPath,
    knownHostsPath: path,
  });
  try {
    return await pool.run("cp-1", "echo ok");
  } catch (err) {
    return err;
  } finally {
    await pool.close();
  }
}

describe("known_hosts pinning", () => {
  it("matches fingerprints with ssh-keygen", async () => {
    const [, type, b64] = sshd.hostKeyLines[1]!.split(" ");
    const ours = fingerprint(Buffer.from(b64!, "base64"));
    const theirs = execFileSync("ssh-keygen", ["-lf", "-"], { input: `${type} ${b64}\n`, encoding: "utf8" });
    expect(theirs).toContain(ours);
  });

  it("connects with either key pinned alone", async () => {
    expect(await tryWith(`${sshd.hostKeyLines[0]}\n`)).toBe("ok\n");
    expect(await tryWith(`${sshd.hostKeyLines[1]}\n`)).toBe("ok\n");
  });

  it("accepts hashed host names as written by ssh-keygen -H", async () => {
    const path = join(dir, "hashed");
    await writeFile(path, `${sshd.hostKeyLines[1]}\n`);
    execFileSync("ssh-keygen", ["-H", "-f", path], { stdio: "ignore" });
    const hashed = await readFile(path, "utf8");
    expect(hashed).toMatch(/^\|1\|/);
    expect(await tryWith(hashed)).toBe("ok\n");
  });

  it("refuses a key marked @revoked, and a key pinned for port 22 only", async () => {
    const revoked = `${sshd.hostKeyLines[0]}\n@revoked * ${sshd.hostKeyLines[0]!.split(" ").slice(1).join(" ")}\n`;
    const e = await tryWith(revoked);
    expect(e).toBeInstanceOf(HostKeyMismatchError);
    expect((e as Error).message).toMatch(/@revoked/);
    const port22 = `${HOST} ${sshd.hostKeyLines[0]!.split(" ").slice(1).join(" ")}\n`;
    expect(await tryWith(port22)).toBeInstanceOf(HostKeyMismatchError);
  });

  it("parses several names per line, comments and junk", () => {
    const kh = parseKnownHosts(
      [
        "# comment",
        "",
        "garbage",
        "10.0.0.1,cp-1,[10.0.0.1]:2222 ssh-ed25519 AAAAC3Nz comment here",
        "!10.0.0.1,10.0.0.* ssh-rsa AAAA",
      ].join("\n"),
      "/x",
    );
    expect(kh.keysFor("10.0.0.1", 22).map((k) => k.type)).toEqual(["ssh-ed25519"]);
    expect(kh.keysFor("10.0.0.1", 2222).map((k) => k.type)).toEqual(["ssh-ed25519"]);
    expect(kh.keysFor("10.0.0.2", 22).map((k) => k.type)).toEqual(["ssh-rsa"]);
    expect(kh.keysFor("10.0.0.22", 2222)).toEqual([]);
    expect(kh.keysFor("10.0.0x2", 22)).toEqual([]); // the dot is literal
    expect(knownHostsName("h", 22)).toBe("h");
    expect(knownHostsName("h", 2200)).toBe("[h]:2200");
  });
});
