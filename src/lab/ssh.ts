/**
 * The lab's SSH side on the host: the operator key (0600, never printed), the pinned host keys in
 * OpenSSH known_hosts format, an ssh_config for people, and a client that checks the pinned key.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { dirname } from "node:path";
import { run, tryRun, type RunResult } from "./exec.js";
import { linkExists } from "./node.js";

/** Creates the operator key if missing; returns its public key line. */
export async function ensureOperatorKey(keyFile: string, comment: string): Promise<string> {
  mkdirSync(dirname(keyFile), { recursive: true, mode: 0o700 });
  if (!existsSync(keyFile)) {
    rmSync(keyFile + ".pub", { force: true });
    await run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", keyFile]);
  }
  chmodSync(keyFile, 0o600);
  if (!existsSync(keyFile + ".pub")) {
    writeFileSync(keyFile + ".pub", (await run(["ssh-keygen", "-y", "-f", keyFile])).trim() + "\n");
  }
  return readFileSync(keyFile + ".pub", "utf8").trim();
}

/**
 * Rewrites the known_hosts lines of `addresses`: `entries` (address → host key) are pinned, the
 * other addresses are dropped; lines for other hosts are kept. Deletes the file when it ends empty.
 */
export function updateKnownHosts(
  file: string,
  addresses: ReadonlySet<string>,
  entries: ReadonlyMap<string, string>,
): void {
  const old = existsSync(file) ? readFileSync(file, "utf8").split("\n").filter(Boolean) : [];
  const kept = old.filter((l) => !addresses.has(l.split(/\s+/)[0] ?? ""));
  const lines = [...kept, ...[...entries].map(([addr, key]) => `${addr} ${key}`)];
  if (lines.length === 0) {
    rmSync(file, { force: true });
    return;
  }
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, lines.join("\n") + "\n", { mode: 0o644 });
}

/** Client options every lab connection uses: pinned host key, the lab key only, fast key exchange. */
export function sshOptions(keyFile: string, knownHosts: string): string[] {
  return [
    "-F",
    "/dev/null",
    "-i",
    keyFile,
    "-o",
    "IdentitiesOnly=yes",
    "-o",
    `UserKnownHostsFile=${knownHosts}`,
    "-o",
    "GlobalKnownHostsFile=/dev/null",
    "-o",
    "StrictHostKeyChecking=yes",
    "-o",
    "BatchMode=yes",
    "-o",
    "ConnectTimeout=5",
    "-o",
    "LogLevel=ERROR",
    // The default post-quantum exchange costs ~145 ms per connection on a small CPU.
    "-o",
    "KexAlgorithms=curve25519-sha256",
  ];
}

/** An ssh_config so people can run `ssh -F <lab>/ssh_config <node>`. */
export function sshConfigText(
  keyFile: string,
  knownHosts: string,
  nodes: readonly { name: string; address: string }[],
): string {
  const out = [
    "# yagura lab: ssh -F <this file> <node>",
    ...nodes.flatMap((n) => [`Host ${n.name}`, `  HostName ${n.address}`]),
    "Host *",
    "  User root",
    `  IdentityFile ${keyFile}`,
    "  IdentitiesOnly yes",
    `  UserKnownHostsFile ${knownHosts}`,
    "  GlobalKnownHostsFile /dev/null",
    "  StrictHostKeyChecking yes",
    "  BatchMode yes",
    "  LogLevel ERROR",
    "  KexAlgorithms curve25519-sha256",
    "",
  ];
  return out.join("\n");
}

/** Runs `command` as root on `address` over ssh with the pinned key; never rejects on failure. */
export function sshExec(
  keyFile: string,
  knownHosts: string,
  address: string,
  command: string,
  opts: { input?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  return tryRun(["ssh", ...sshOptions(keyFile, knownHosts), `root@${address}`, command], {
    timeoutMs: opts.timeoutMs ?? 30_000,
    input: opts.input,
  });
}

/** What one look at an sshd's banner found: it answered, or why not (for the operator). */
export type BannerResult = { readonly ok: true } | { readonly ok: false; readonly why: string };

/**
 * Opens one connection to address:22 and reads the server's version banner, waiting up to
 * `timeoutMs` for it (sshd forks and re-executes itself per connection before it sends one, which
 * on a loaded machine takes seconds). `signal` closes the connection early.
 */
export function probeBanner(address: string, timeoutMs: number, signal?: AbortSignal): Promise<BannerResult> {
  return new Promise((resolve) => {
    const sock = connect({ host: address, port: 22 });
    let buf = "";
    let connected = false;
    const done = (r: BannerResult) => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", abort);
      sock.destroy();
      resolve(r);
    };
    const abort = () => done({ ok: false, why: "wait abandoned" });
    const timer = setTimeout(
      () =>
        done({
          ok: false,
          why: connected
            ? `connected, but no banner within ${timeoutMs / 1000} s`
            : `no TCP answer within ${timeoutMs / 1000} s`,
        }),
      timeoutMs,
    );
    if (signal?.aborted) return abort();
    signal?.addEventListener("abort", abort);
    sock.on("connect", () => (connected = true));
    sock.on("data", (d) => {
      buf += d.toString("latin1");
      if (!buf.includes("\n")) return;
      const line = buf.split("\n")[0]!.trim();
      done(
        line.startsWith("SSH-2.0-") ? { ok: true } : { ok: false, why: `not an SSH banner: ${JSON.stringify(line)}` },
      );
    });
    sock.on("error", (e: NodeJS.ErrnoException) =>
      done({ ok: false, why: e.code === "ECONNREFUSED" ? "connection refused" : `${e.code ?? e.message}` }),
    );
    sock.on("end", () => done({ ok: false, why: "closed before the banner" }));
  });
}

/** True once something on address:22 speaks SSH (reads the server's version banner). */
export async function sshBanner(address: string, timeoutMs = 1000): Promise<boolean> {
  return (await probeBanner(address, timeoutMs)).ok;
}

/**
 * True when the host reaches `address` through the lab's bridge. Checked before any connection:
 * with the bridge gone, the host would route a node address out of the machine instead.
 */
export async function routedViaBridge(address: string, bridge: string): Promise<boolean> {
  if (!linkExists(bridge)) return false;
  const r = await tryRun(["ip", "-j", "route", "get", address]);
  if (r.code !== 0) return false;
  const routes = JSON.parse(r.stdout) as { dev?: string; gateway?: string }[];
  return routes.length > 0 && routes.every((x) => x.dev === bridge && !x.gateway);
}
