/**
 * `yagura ssh-config` with the real OpenSSH client against a real sshd serving an issued host key:
 * reached with an empty known_hosts, refused once the server presents another key.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeSshConfig } from "../../src/cli/ssh-config.js";
import { envPaths } from "../../src/cluster/paths.js";
import { clusterSpec } from "../../src/cluster/spec.js";
import { loadInventory } from "../../src/inventory/load.js";
import { ensureHostKeys } from "../../src/pki/host-keys.js";
import { startSshd, type TestSshd } from "./sshd.js";

const HOST = "127.0.0.29";
const PORT = 23729;
const tmp = mkdtempSync(join(tmpdir(), "yagura-sshcfg-"));
let sshd: TestSshd | undefined;
afterAll(async () => {
  await sshd?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

/** The lab inventory with one static node at the test sshd's address and port. */
function spec() {
  const res = loadInventory("lab");
  if (!res.ok) throw new Error("lab inventory invalid");
  const inv = structuredClone(res.inventory);
  inv.staticNodes = [{ ...inv.staticNodes[0]!, name: "n1", address: HOST }];
  inv.ssh = { ...inv.ssh, port: PORT, user: "root" };
  return clusterSpec("sshcfg", inv);
}

describe("yagura ssh-config", () => {
  const s = spec();
  const paths = envPaths("sshcfg", tmp);
  let files: ReturnType<typeof writeSshConfig>;
  beforeAll(async () => {
    const issued = ensureHostKeys(paths.pkiDir, ["n1"]).get("n1")!;
    sshd = await startSshd(join(tmp, "sshd"), HOST, PORT, undefined, ["ed25519"], issued);
    // The operator key of the environment is the test server's authorized client key.
    rmSync(paths.sshDir, { recursive: true, force: true });
    files = writeSshConfig(s, { stateRoot: tmp });
    writeFileSync(paths.sshKey, readFileSync(sshd.clientKeyPath), { mode: 0o600 });
  });
  const ssh = (...args: string[]) =>
    spawnSync("ssh", ["-F", files.config, "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", ...args], {
      encoding: "utf8",
    });

  it("writes the issued key under the name OpenSSH looks up, and a strict config", () => {
    const issued = readFileSync(files.issuedKnownHosts, "utf8");
    expect(issued).toMatch(new RegExp(`^\\[${HOST.replace(/\./g, "\\.")}\\]:${PORT} ssh-ed25519 \\S+ n1\\n$`));
    const cfg = readFileSync(files.config, "utf8");
    expect(cfg).toContain("Host n1\n  HostName 127.0.0.29\n");
    expect(cfg).toContain("StrictHostKeyChecking yes");
  });

  it("reaches the node by name with nothing pinned by hand", () => {
    const r = ssh("n1", "echo reached");
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe("reached\n");
  });

  it("refuses the node once it presents a key yagura did not issue", async () => {
    await sshd!.stop();
    sshd = await startSshd(join(tmp, "sshd2"), HOST, PORT, sshd!.clientKeyPath);
    const r = ssh("n1", "true");
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/i);
  });
});
