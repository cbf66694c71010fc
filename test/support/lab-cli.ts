/**
 * The lab end-to-end pieces that need no test runner, so tests and benchmarks share them: why the
 * lab cannot run here, the CLI as a child process, etcdctl with yagura's admin certificate, a
 * command on a node, the op names a reconcile printed, and polling.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { envPaths } from "../../src/cluster/paths.js";
import { labPrerequisites, sshExec } from "../../src/lab/index.js";

const ROOT = resolve(import.meta.dirname, "../..");

/** Why these tests cannot run here, or undefined. */
export function e2eSkipReason(): string | undefined {
  const p = labPrerequisites();
  if (p.length) return `etcd e2e skipped: ${p.join("; ")}`;
  for (const bin of ["/usr/bin/etcd", "/usr/bin/etcdctl"]) {
    if (!existsSync(bin)) return `etcd e2e skipped: ${bin} missing (apt-get install etcd-server etcd-client)`;
  }
  return undefined;
}

/** Result of one CLI run. */
export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  pid: number;
}

/** What `onLine` may ask of a running CLI: true or "kill" → SIGKILL, "term" → SIGTERM. */
export type LineVerdict = boolean | "kill" | "term" | void;

/** Extra environment for the child (state keys), and a hook to track it for clean-up. */
export interface CliOptions {
  readonly env?: Readonly<Record<string, string>>;
  readonly spawned?: (child: ChildProcess) => void;
}

/** Runs the CLI as a child with `stateRoot` as its state; `onLine` sees each output line and may signal it. */
export function cli(
  stateRoot: string,
  args: string[],
  onLine?: (line: string, pid: number) => LineVerdict,
  o: CliOptions = {},
): Promise<CliRun> {
  return new Promise((res) => {
    const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "src/cli/main.ts"), ...args], {
      cwd: ROOT,
      env: { ...process.env, YAGURA_STATE_DIR: stateRoot, NODE_NO_WARNINGS: "1", ...o.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    o.spawned?.(child);
    let out = "";
    let buf = "";
    const feed = (d: Buffer) => {
      out += d.toString();
      buf += d.toString();
      let i;
      while ((i = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        const what = onLine?.(line, child.pid!);
        if (what) child.kill(what === "term" ? "SIGTERM" : "SIGKILL");
      }
    };
    child.stdout.on("data", feed);
    child.stderr.on("data", feed);
    child.on("close", (code, signal) => res({ code, signal, out, pid: child.pid! }));
  });
}

/** etcdctl on the host with yagura's admin client certificate. */
export function etcdctl(stateRoot: string, env: string, endpoints: readonly string[], args: string[]) {
  const pki = envPaths(env, stateRoot).pkiDir;
  const r = spawnSync(
    "/usr/bin/etcdctl",
    [
      `--endpoints=${endpoints.join(",")}`,
      `--cacert=${join(pki, "etcd-client-ca.crt")}`,
      `--cert=${join(pki, "etcd-admin.crt")}`,
      `--key=${join(pki, "etcd-admin.key")}`,
      "--command-timeout=5s",
      ...args,
    ],
    { env: { ...process.env, ETCDCTL_API: "3" }, encoding: "utf8" },
  );
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

/** Runs a command on a lab node. */
export function onNode(stateRoot: string, env: string, address: string, command: string, input?: string) {
  const p = envPaths(env, stateRoot);
  return sshExec(p.sshKey, p.knownHosts, address, command, input === undefined ? {} : { input, timeoutMs: 120_000 });
}

/** Op names of the lines "  … <op> on …" printed by reconcile. */
export function opsOf(out: string): string[] {
  return [...out.matchAll(/^ {2}… (\S+) on /gm)].map((m) => m[1]!);
}

/** Polls `ok` every 250 ms until it holds or `ms` pass; returns whether it held. */
export async function until(ms: number, ok: () => boolean | Promise<boolean>): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await ok()) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}
