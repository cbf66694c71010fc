/**
 * `yagura service unit ENV`: the hardened systemd unit that runs `reconcile ENV --watch`
 * unattended (run/service-unit.ts renders it), printed or written with --output. The environment
 * file it names holds the state key: the command refuses one that other users may read.
 */
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { parseDuration } from "../inventory/rules/syntax.js";
import { shq } from "../infra/shell.js";
import { STATE_KEY_VAR } from "../state/crypto.js";
import { parseStateLocation } from "../state/location.js";
import { UserError } from "./errors.js";
import { requireSpec } from "./inventory.js";

/** Flags of `service unit`. */
interface UnitFlags {
  output?: string;
  environmentFile?: string;
  user: string;
  stateDir: string;
  exec?: string;
  metricsAddr: string;
  interval?: string;
  scope: string;
  driftInterval?: string;
  applyInfra?: boolean;
  state?: string;
  stateCa?: string;
  stateCert?: string;
  stateKey?: string;
}

/** The project's own directory (bin/, templates/, the stacks). */
const PROJECT_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/**
 * Checks the environment file on this machine: refuses one that other users may read or write
 * (it holds the state key); returns warnings for one that is missing or lacks the key.
 */
export function checkEnvironmentFile(file: string, needsStateKey: boolean): string[] {
  const create =
    `install -m 600 -o root -g root /dev/null ${shq(file)}` +
    (needsStateKey ? ` && echo "${STATE_KEY_VAR}=$(openssl rand -base64 32)" >> ${shq(file)}` : "");
  if (!existsSync(file))
    return [
      `warning: ${file} does not exist yet; systemd will not start the unit without it. Create it: ${create}` +
        (needsStateKey ? ` (use the key every other instance of this state uses)` : ""),
    ];
  const mode = statSync(file).mode & 0o777;
  if (mode & 0o006)
    throw new UserError(
      `${file} is ${mode & 0o004 ? "readable" : "writable"} by every user (mode ${mode.toString(8).padStart(4, "0")}) ` +
        `and holds the state key and credentials: run chmod 600 ${shq(file)} (or chmod 640 with the service's group)`,
    );
  if (needsStateKey && !new RegExp(`^\\s*${STATE_KEY_VAR}=\\S`, "m").test(readFileSync(file, "utf8")))
    return [
      `warning: ${file} sets no ${STATE_KEY_VAR}; the etcd state needs it: ${STATE_KEY_VAR}=<32 bytes base64> (openssl rand -base64 32)`,
    ];
  return [];
}

/** The `reconcile --watch` flags of the unit, checked the way reconcile checks them. */
async function watchArgs(o: UnitFlags): Promise<{ args: string[]; readPaths: string[]; etcdState: boolean }> {
  const { parseAddr } = await import("../run/metrics.js");
  try {
    parseAddr(o.metricsAddr);
  } catch (err) {
    throw new UserError((err as Error).message);
  }
  for (const [flag, v] of [
    ["--interval", o.interval],
    ["--drift-interval", o.driftInterval],
  ] as const)
    if (v !== undefined && !parseDuration(v))
      throw new UserError(`${flag} must be a duration such as 30s or 5m, not ${JSON.stringify(v)}`);
  if (o.scope !== "all" && o.scope !== "etcd")
    throw new UserError(`--scope must be "etcd" or "all", not ${JSON.stringify(o.scope)}`);
  const tls = { ca: o.stateCa, cert: o.stateCert, key: o.stateKey };
  const loc = parseStateLocation(o.state, tls, {});
  const files = Object.fromEntries(Object.entries(tls).flatMap(([k, v]) => (v ? [[k, resolve(v)]] : [])));
  const args = [
    "--metrics-addr",
    o.metricsAddr,
    ...(o.interval ? ["--interval", o.interval] : []),
    ...(o.scope !== "all" ? ["--scope", o.scope] : []),
    ...(o.driftInterval ? ["--drift-interval", o.driftInterval] : []),
    ...(o.applyInfra ? ["--apply-infra"] : []),
    ...(o.state ? ["--state", o.state] : []),
    ...(files.ca ? ["--state-ca", files.ca] : []),
    ...(files.cert ? ["--state-cert", files.cert] : []),
    ...(files.key ? ["--state-key", files.key] : []),
  ];
  return { args, readPaths: Object.values(files), etcdState: loc.kind === "etcd" };
}

/** Registers `service unit`. */
export function registerServiceCommands(program: Command): void {
  const service = program.command("service").description("run yagura unattended under a service manager");
  service
    .command("unit")
    .description("print (or write with --output) a hardened systemd unit that runs reconcile ENV --watch")
    .argument("<env>", "environment name or inventory file")
    .option("-o, --output <path>", "write the unit to this file, or into this directory as yagura-ENV.service")
    .option("--environment-file <file>", "file with YAGURA_STATE_KEY and credentials (default /etc/yagura/ENV.env)")
    .option("--user <name>", "account the watch runs as (root: no User= line)", "yagura")
    .option(
      "--state-dir <dir>",
      "yagura's state ($YAGURA_STATE_DIR); under /var/lib it is the unit's StateDirectory",
      "/var/lib/yagura",
    )
    .option("--exec <path>", "the yagura executable (default: this checkout's bin/yagura.mjs run by this node)")
    .option("--metrics-addr <host:port>", "where the watch serves /metrics and /healthz", "127.0.0.1:9464")
    .option("--interval <duration>", "time between passes (default: reconciler.watchInterval)")
    .option("--scope <scope>", "etcd or all, as for reconcile", "all")
    .option("--drift-interval <duration>", "check infrastructure drift this often")
    .option("--apply-infra", "let the watch run cdktf deploy ENV after drift (the unit may then write the project)")
    .option("--state <url>", "state backend, as for reconcile: local or etcd://host:port[,host:port]")
    .option("--state-ca <file>", "CA certificate of the state etcd")
    .option("--state-cert <file>", "client certificate for the state etcd")
    .option("--state-key <file>", "client TLS key for the state etcd (the sealing key stays in the env file)")
    .addHelpText(
      "after",
      "\nExamples:\n" +
        "  yagura service unit prod                                   # print the unit\n" +
        "  yagura service unit prod -o /etc/systemd/system && systemctl daemon-reload && systemctl enable --now yagura-prod.service\n" +
        "  yagura service unit prod --state etcd://10.0.0.5:2379 --state-ca /etc/yagura/ca.crt \\\n" +
        "    --state-cert /etc/yagura/me.crt --state-key /etc/yagura/me.key --environment-file /etc/yagura/prod.env\n\n" +
        "The unit restarts the watch on failure (30 s apart, at most 5 starts an hour; not after exit 1 or 2),\n" +
        "keeps the state in a 0700 StateDirectory, reads YAGURA_STATE_KEY from the environment file, and\n" +
        "runs sandboxed (NoNewPrivileges, ProtectSystem=strict, ProtectHome, PrivateTmp, no capabilities).\n" +
        "The environment file must not be readable by other users: the command refuses one that is (exit 1).",
    )
    .action(async (env: string, o: UnitFlags) => {
      const { renderWatchUnit, runtimePathProblem, watchUnitName } = await import("../run/service-unit.js");
      const spec = requireSpec(env, program.opts().inventoryDir);
      const envFile = resolve(o.environmentFile ?? `/etc/yagura/${spec.env}.env`);
      const { args, readPaths, etcdState } = await watchArgs(o);
      const exec = o.exec ? [resolve(o.exec)] : [process.execPath, join(PROJECT_DIR, "bin", "yagura.mjs")];
      const stackOutputs = program.opts().stackOutputs as string | undefined;
      const globalArgs = stackOutputs ? ["--stack-outputs", resolve(stackOutputs)] : [];
      const read = [
        ["the inventory", spec.file],
        ["--exec", exec.at(-1)!],
        ...readPaths.map((p) => ["a --state TLS file", p]),
        ...(stackOutputs ? [["--stack-outputs", resolve(stackOutputs)]] : []),
      ] as const;
      for (const [what, p] of read) {
        const problem = runtimePathProblem(what, p);
        if (problem) throw new UserError(problem);
      }
      let unit: string;
      try {
        unit = renderWatchUnit({
          env: spec.env,
          inventoryFile: spec.file,
          exec,
          user: o.user,
          stateDir: o.stateDir,
          environmentFile: envFile,
          watchArgs: args,
          globalArgs,
          readPaths: [...readPaths, ...globalArgs.slice(1)],
          readWritePaths: o.applyInfra ? [PROJECT_DIR] : [],
        });
      } catch (err) {
        throw new UserError((err as Error).message);
      }
      const warnings = checkEnvironmentFile(envFile, etcdState);
      for (const w of warnings) console.error(w);
      if (!o.output) return void process.stdout.write(unit);
      const out = resolve(o.output);
      const file = existsSync(out) && statSync(out).isDirectory() ? join(out, watchUnitName(spec.env)) : out;
      // Written whole and renamed: systemd never reads half a unit. A unit holds no secret.
      writeFileSync(`${file}.tmp`, unit, { mode: 0o644 });
      renameSync(`${file}.tmp`, file);
      const name = shq(watchUnitName(spec.env));
      console.log(`wrote ${file}\nnext: systemctl daemon-reload && systemctl enable --now ${name}`);
    });
}
