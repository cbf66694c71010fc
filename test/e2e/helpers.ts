/** Shared pieces of the etcd end-to-end tests: the CLI as a child process, etcdctl, ssh, inventories. */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { labPrerequisites, sshExec } from "../../src/lab/index.js";
import { envPaths } from "../../src/cluster/paths.js";

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

/** Inventory text: control-plane nodes on bridge ygbr79e, subnet 10.79.0.0/24. */
export function inventoryText(nodes: readonly [string, string][]): string {
  return [
    "cluster: { name: e79, kubernetesVersion: '1.33.5' }",
    "lab: { bridge: ygbr79e, cidr: 10.79.0.0/24 }",
    "staticNodes:",
    ...nodes.map(([n, a]) => `  - { name: ${n}, address: ${a}, role: control-plane }`),
    "networking: { calico: { routeReflectors: { enabled: false } } }",
    "",
  ].join("\n");
}

/** Writes the inventory file of `env` under `dir`. */
export function writeInventory(dir: string, env: string, nodes: readonly [string, string][]): string {
  const file = join(dir, `${env}.yaml`);
  writeFileSync(file, inventoryText(nodes));
  return file;
}

/** Result of one CLI run. */
export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
}

/** Runs the CLI as a child; `onLine` may kill it (returns true to SIGKILL). */
export function cli(stateRoot: string, args: string[], onLine?: (line: string) => boolean): Promise<CliRun> {
  return new Promise((res) => {
    const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "src/cli/main.ts"), ...args], {
      cwd: ROOT,
      env: { ...process.env, YAGURA_STATE_DIR: stateRoot, NODE_NO_WARNINGS: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let buf = "";
    const feed = (d: Buffer) => {
      out += d.toString();
      buf += d.toString();
      let i;
      while ((i = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (onLine?.(line)) child.kill("SIGKILL");
      }
    };
    child.stdout.on("data", feed);
    child.stderr.on("data", feed);
    child.on("close", (code, signal) => res({ code, signal, out }));
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
export function onNode(stateRoot: string, env: string, address: string, command: string) {
  const p = envPaths(env, stateRoot);
  return sshExec(p.sshKey, p.knownHosts, address, command);
}

/** Op names of the lines "  … <op> on …" printed by reconcile. */
export function opsOf(out: string): string[] {
  return [...out.matchAll(/^ {2}… (\S+) on /gm)].map((m) => m[1]!);
}
