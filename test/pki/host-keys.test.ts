import { afterAll, describe, expect, it } from "vitest";
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  ensureHostKeys,
  generateHostKey,
  hostKeyFiles,
  issuedHostKeys,
  publicKeyOf,
  readHostKey,
} from "../../src/pki/host-keys.js";

const tmp = mkdtempSync(join(tmpdir(), "yagura-hostkeys-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const sshKeygen = (...args: string[]) => execFileSync("ssh-keygen", args, { encoding: "utf8" }).trim();

describe("issued SSH host keys", () => {
  it("are OpenSSH keys: ssh-keygen derives the same public key and reads the fingerprint", () => {
    const k = generateHostKey("cp1");
    const file = join(tmp, "gen.key");
    writeFileSync(file, k.privateKey, { mode: 0o600 });
    expect(sshKeygen("-y", "-f", file)).toBe(k.publicKey);
    expect(sshKeygen("-l", "-f", file)).toMatch(/^256 SHA256:\S+ cp1 \(ED25519\)$/);
    expect(publicKeyOf(k.privateKey, "cp1")).toBe(k.publicKey);
  });

  it("publicKeyOf reads a key ssh-keygen made, and refuses what is not one", () => {
    const file = join(tmp, "made");
    sshKeygen("-q", "-t", "ed25519", "-N", "", "-C", "x", "-f", file);
    expect(publicKeyOf(readFileSync(file, "utf8"), "x")).toBe(readFileSync(file + ".pub", "utf8").trim());
    expect(() => publicKeyOf("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "x")).toThrow(
      /not an OpenSSH private key/,
    );
  });

  it("are issued once, 0600, and read back unchanged afterwards", () => {
    const dir = join(tmp, "pki");
    const first = ensureHostKeys(dir, ["cp1", "w1"]);
    const f = hostKeyFiles(dir, "cp1");
    expect(statSync(f.key).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(readFileSync(f.pub, "utf8").trim()).toBe(first.get("cp1")!.publicKey);
    const again = ensureHostKeys(dir, ["cp1", "w1", "w2"]);
    expect(again.get("cp1")).toEqual(first.get("cp1"));
    expect(again.get("w1")).toEqual(first.get("w1"));
    expect(again.get("w2")!.publicKey).not.toBe(first.get("w1")!.publicKey);
    expect([...issuedHostKeys(dir, ["cp1", "w2", "static-1"]).keys()]).toEqual(["cp1", "w2"]);
    expect(readHostKey(dir, "static-1")).toBeUndefined();
  });

  it("two processes issuing at once end with one key both agree on", async () => {
    const dir = join(tmp, "race");
    const src = new URL("../../src/pki/host-keys.ts", import.meta.url).pathname;
    const script = `import { ensureHostKeys } from ${JSON.stringify(src)};
      const names = Array.from({ length: 40 }, (_, i) => "n" + i);
      console.log(JSON.stringify(names.map((n) => ensureHostKeys(${JSON.stringify(dir)}, [n]).get(n).publicKey)));`;
    const runOne = () =>
      new Promise<string[]>((resolve, reject) => {
        const c = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script]);
        let out = "";
        c.stdout.on("data", (b: Buffer) => (out += b.toString()));
        c.stderr.on("data", (b: Buffer) => (out += b.toString()));
        c.on("close", (code) => (code === 0 ? resolve(JSON.parse(out) as string[]) : reject(new Error(out))));
      });
    const [a, b] = await Promise.all([runOne(), runOne()]);
    expect(a).toEqual(b);
    expect(a).toEqual(Array.from({ length: 40 }, (_, i) => readHostKey(dir, `n${i}`)!.publicKey));
  }, 60_000);

  it("refuses a node name that is not a plain file name", () => {
    expect(() => hostKeyFiles(tmp, "../etc")).toThrow(/not a node name/);
  });
});
