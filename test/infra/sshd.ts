/**
 * A real OpenSSH server for tests: its own host key, an authorized operator key, listening on a
 * loopback address and an unusual port, in a temp dir. Killed by the pid we started.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createConnection } from "node:net";
import { join } from "node:path";

export interface TestSshd {
  readonly host: string;
  readonly port: number;
  /** known_hosts line of the first host key. */
  readonly hostKeyLine: string;
  /** known_hosts lines of every host key, in the order of `hostKeyTypes`. */
  readonly hostKeyLines: readonly string[];
  readonly clientKeyPath: string;
  /** Pid of the listening sshd (its children are the per-connection processes). */
  readonly pid: number;
  stop(): Promise<void>;
}

function keygen(path: string, comment: string, type = "ed25519"): void {
  execFileSync("ssh-keygen", ["-q", "-t", type, "-N", "", "-C", comment, "-f", path]);
}

/** Waits until something accepts TCP connections on host:port. */
async function waitForPort(host: string, port: number, child: ChildProcess, log: () => string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`sshd exited ${child.exitCode}: ${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = createConnection({ host, port }, () => (s.destroy(), resolve(true)));
      s.on("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`sshd did not listen on ${host}:${port}: ${log()}`);
}

/** Starts sshd in `dir` on host:port; `clientKeyPath` may be shared between servers. */
export async function startSshd(
  dir: string,
  host: string,
  port: number,
  clientKeyPath?: string,
  hostKeyTypes: readonly string[] = ["ed25519"],
  /** Serve this OpenSSH private key (an issued host key) instead of generating the first one. */
  firstHostKey?: { privateKey: string; publicKey: string },
): Promise<TestSshd> {
  mkdirSync(dir, { recursive: true });
  mkdirSync("/run/sshd", { recursive: true, mode: 0o755 }); // sshd's privilege-separation dir
  const hostKeys = hostKeyTypes.map((type) => join(dir, `host_${type}`));
  hostKeyTypes.forEach((type, i) => {
    if (i === 0 && firstHostKey) {
      writeFileSync(hostKeys[0]!, firstHostKey.privateKey, { mode: 0o600 });
      writeFileSync(`${hostKeys[0]!}.pub`, firstHostKey.publicKey + "\n");
    } else keygen(hostKeys[i]!, `test-${host}`, type);
  });
  const clientKey = clientKeyPath ?? join(dir, "client_ed25519");
  if (!clientKeyPath) keygen(clientKey, "test-client");
  writeFileSync(join(dir, "authorized_keys"), readFileSync(`${clientKey}.pub`), { mode: 0o600 });
  const cfg = join(dir, "sshd_config");
  writeFileSync(
    cfg,
    [
      `ListenAddress ${host}:${port}`,
      ...hostKeys.map((k) => `HostKey ${k}`),
      `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
      "PermitRootLogin prohibit-password",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "UsePAM no",
      "PidFile none",
      "StrictModes no",
      "UseDNS no",
      "MaxStartups 100:30:200",
      "",
    ].join("\n"),
  );
  let stderr = "";
  const child = spawn("/usr/sbin/sshd", ["-D", "-e", "-f", cfg], { stdio: ["ignore", "ignore", "pipe"] });
  child.stderr!.on("data", (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4000)));
  await waitForPort(host, port, child, () => stderr);
  const lines = hostKeys.map((k) => {
    const [type, b64] = readFileSync(`${k}.pub`, "utf8").split(" ");
    return `${port === 22 ? host : `[${host}]:${port}`} ${type} ${b64}`;
  });
  return {
    host,
    port,
    hostKeyLine: lines[0]!,
    hostKeyLines: lines,
    clientKeyPath: clientKey,
    pid: child.pid!,
    async stop() {
      if (child.exitCode !== null) return;
      const done = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await done;
    },
  };
}

/** Pids of the processes `pgrep ARGS` finds; none when it finds none (it then exits 1). */
export function pgrep(...args: string[]): number[] {
  try {
    return execFileSync("pgrep", args, { encoding: "utf8" }).trim().split("\n").map(Number);
  } catch {
    return [];
  }
}

/** The sshd processes serving one connection each: the children of the listener `sshd` started. */
export const sshdConnections = (sshd: TestSshd): number[] => pgrep("-P", String(sshd.pid));

/** Polls `ok` every 50 ms until it holds or `ms` pass; returns its last answer. */
export async function until(ms: number, ok: () => boolean): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end && !ok()) await new Promise((r) => setTimeout(r, 50));
  return ok();
}
