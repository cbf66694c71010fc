/**
 * The systemd unit that runs `yagura reconcile ENV --watch` unattended: restart with a start limit,
 * a private state directory, the state key from an environment file, and a sandbox that leaves
 * yagura what it uses (its state, outbound connections, reading the inventory). Pure: the caller
 * checks the files on the machine (cli/service.ts).
 */
import { isAbsolute, normalize } from "node:path";
import { systemdExecutable, systemdQuote } from "../supervisor/systemd.js";
import { renderTemplate } from "../templates/render.js";

/** What the unit runs and where it keeps things; every path absolute. */
export interface WatchUnitOptions {
  /** The environment's name (the inventory file's base name). */
  readonly env: string;
  readonly inventoryFile: string;
  /** The executable and its leading arguments, e.g. [node, /opt/yagura/bin/yagura.mjs]. */
  readonly exec: readonly string[];
  /** The account the watch runs as; "root" writes no User=. @default "yagura" */
  readonly user?: string;
  /** Root of yagura's state ($YAGURA_STATE_DIR). @default "/var/lib/yagura" */
  readonly stateDir?: string;
  /** The environment file with YAGURA_STATE_KEY and credentials. */
  readonly environmentFile: string;
  /** Arguments of `reconcile` after `--watch` (flags and values, unquoted). */
  readonly watchArgs: readonly string[];
  /** Global options before `reconcile` (e.g. --stack-outputs FILE). */
  readonly globalArgs?: readonly string[];
  /** Further paths the watch writes (the project directory for --apply-infra). */
  readonly readWritePaths?: readonly string[];
  /** Files the watch reads at run time (inventory, TLS files): under /home they need ProtectHome=read-only. */
  readonly readPaths?: readonly string[];
}

/** A directive path: absolute, normalised, no characters that systemd would expand or split. */
const PLAIN_PATH = /^\/[A-Za-z0-9_.@+:,/-]*$/;
const PRIVATE_TMP = /^\/(var\/)?tmp(\/|$)/;
const HOME = /^\/(home|root|run\/user)(\/|$)/;

/** Why a path cannot appear in the unit, or undefined. `what` names the flag or setting. */
export function directivePathProblem(what: string, path: string): string | undefined {
  if (!isAbsolute(path) || normalize(path) !== path || !PLAIN_PATH.test(path))
    return `${what} ${JSON.stringify(path)} must be an absolute path of letters, digits and _ . @ + : , / - (systemd would split or expand anything else)`;
  return undefined;
}

/** Why the service could not read `path` at run time, or undefined (PrivateTmp hides the host's /tmp). */
export function runtimePathProblem(what: string, path: string): string | undefined {
  if (PRIVATE_TMP.test(path))
    return `${what} ${path} lies under /tmp, which the unit's PrivateTmp=yes hides from the service: move it (e.g. under /etc/yagura)`;
  return undefined;
}

/** The unit's file name: yagura-<env>.service, with any character a unit name cannot hold as \xNN. */
export function watchUnitName(env: string): string {
  const esc = [...Buffer.from(env, "utf8")]
    .map((b, i) => {
      const c = String.fromCharCode(b);
      return /[A-Za-z0-9:_-]/.test(c) || (c === "." && i > 0) ? c : `\\x${b.toString(16).padStart(2, "0")}`;
    })
    .join("");
  return `yagura-${esc}.service`;
}

/** Free text for Description= and comments: specifiers doubled, control characters dropped. */
// eslint-disable-next-line no-control-regex -- control characters are what is looked for
const text = (s: string) => s.replace(/[\x00-\x1f\x7f]/g, "?").replace(/%/g, "%%");

/** Quoted arguments, one line per flag with its values. */
function flagLines(args: readonly string[]): string[][] {
  const out: string[][] = [];
  for (const a of args) {
    if (a.startsWith("--") || out.length === 0) out.push([]);
    out.at(-1)!.push(systemdQuote(a));
  }
  return out;
}

/** Renders the unit; throws an Error naming the setting when a path cannot be written safely. */
export function renderWatchUnit(o: WatchUnitOptions): string {
  const user = o.user ?? "yagura";
  const stateDir = o.stateDir ?? "/var/lib/yagura";
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(user))
    throw new Error(`--user ${JSON.stringify(user)} is not a system account name (lower case, digits, _ and -)`);
  for (const [what, p] of [
    ["--state-dir", stateDir],
    ["--environment-file", o.environmentFile],
    ...(o.readWritePaths ?? []).map((p) => ["read-write path", p] as const),
  ] as const) {
    const problem = directivePathProblem(what, p);
    if (problem) throw new Error(problem);
  }
  const varLib = /^\/var\/lib\/(.+)$/.exec(stateDir)?.[1];
  const lines = [
    [systemdExecutable(o.exec[0]!), ...o.exec.slice(1).map(systemdQuote)],
    ...flagLines(o.globalArgs ?? []),
    ["reconcile", systemdQuote(o.inventoryFile), "--watch"],
    ...flagLines(o.watchArgs),
  ];
  const seen = [o.inventoryFile, ...o.exec, ...(o.readPaths ?? [])];
  return renderTemplate("service/watch.service.hbs", {
    unitName: watchUnitName(o.env),
    envComment: text(o.env),
    description: text(o.env),
    execStart: lines.map((l) => l.join(" ")).join(" \\\n    "),
    users: user === "root" ? [] : [user],
    environmentFile: o.environmentFile,
    stateDirEnv: systemdQuote(`YAGURA_STATE_DIR=${stateDir}`),
    homeEnv: systemdQuote(`HOME=${stateDir}`),
    stateDir,
    stateDirectories: varLib ? [varLib] : [],
    readWritePaths: [...(varLib ? [] : [stateDir]), ...(o.readWritePaths ?? [])],
    protectHome: seen.some((p) => HOME.test(p)) ? "read-only" : "yes",
  });
}
