/**
 * runit: the lab's supervisor. A service is a directory /etc/yagura/sv/<name> with `run` and
 * `log/run` (svlogd to /var/log/<name>), linked into /etc/service where runsvdir picks it up
 * within 5 s; `sv` controls it once runsv is up.
 */
import { posix } from "node:path";
import { NODE_PATHS } from "../cluster/paths.js";
import { shq } from "../infra/shell.js";
import { renderTemplate } from "../templates/render.js";
import type { ManagedFile, ServiceDef, Supervisor } from "./types.js";

const defDir = (name: string) => posix.join(NODE_PATHS.runitDefs, name);
const linkPath = (name: string) => posix.join(NODE_PATHS.runitServiceDir, name);

// runsvdir rescans at most every 5 s; `sv` fails until runsv has opened supervise/ok, so wait for it.
const waitRunsv = (name: string) =>
  `i=0; until sv status ${shq(linkPath(name))} >/dev/null 2>&1; do i=$((i+1)); ` +
  `if [ $i -gt 150 ]; then echo "runsv did not take over ${name} within 15 s" >&2; exit 1; fi; sleep 0.1; done`;

/** How long a restart waits for the old process to exit after TERM before killing it, unless the component says. */
export const RESTART_STOP_S = 90;

/** Creates the runit supervisor. */
export function runitSupervisor(): Supervisor {
  return {
    kind: "runit",
    prerequisites: ["runsvdir", "runsv", "sv", "svlogd"],
    render(def: ServiceDef): ManagedFile[] {
      const dir = defDir(def.name);
      return [
        {
          path: posix.join(dir, "run"),
          mode: 0o755,
          content: renderTemplate("supervisor/runit-run.sh.hbs", {
            description: def.description,
            environmentFile: shq(def.environmentFile),
            command: def.argv.map(shq).join(" \\\n  "),
          }),
        },
        {
          path: posix.join(dir, "log", "run"),
          mode: 0o755,
          content: renderTemplate("supervisor/runit-log-run.sh.hbs", {
            name: def.name,
            logDir: shq(posix.join(NODE_PATHS.logDir, def.name)),
          }),
        },
      ];
    },
    startScript(name) {
      return [
        "set -e",
        `[ -L ${shq(linkPath(name))} ] || ln -sfn ${shq(defDir(name))} ${shq(linkPath(name))}`,
        waitRunsv(name),
        `sv -w 30 up ${shq(linkPath(name))}`,
      ].join("\n");
    },
    stopScript(name) {
      return [
        `if [ -e ${shq(linkPath(name))} ]; then`,
        `  sv -w 30 down ${shq(linkPath(name))} >/dev/null 2>&1 || sv force-stop ${shq(linkPath(name))} >/dev/null 2>&1 || true`,
        `  rm -f ${shq(linkPath(name))}`,
        `  sv exit ${shq(defDir(name))} >/dev/null 2>&1 || true`,
        "fi",
      ].join("\n");
    },
    restartScript(name, stopTimeoutSeconds = RESTART_STOP_S) {
      const l = shq(linkPath(name));
      const stopS = Math.max(1, Math.trunc(stopTimeoutSeconds));
      // `sv restart` sends TERM and may report the service up while the old process is still
      // exiting (or give up after its timeout on a loaded machine, an apiserver draining its
      // connections): wait for that process by pid, bounded, kill it past the bound, and only then
      // wait for the new one, so a restart never ends with the old configuration still running.
      return [
        "set -e",
        waitRunsv(name),
        `old=$(cat ${l}/supervise/pid 2>/dev/null || true); case "$old" in ''|*[!0-9]*) old=0;; esac`,
        // sv waits at most 1 s (it may return at once while the old process still runs); the bound
        // below counts from its return, so the old process gets at least the whole bound after TERM.
        `sv -w 1 restart ${l} >/dev/null 2>&1 || true`,
        `i=0; while [ "$old" -gt 0 ] && kill -0 "$old" 2>/dev/null && [ $i -lt ${stopS * 10} ]; do sleep 0.1; i=$((i+1)); done`,
        `if [ "$old" -gt 0 ] && kill -0 "$old" 2>/dev/null; then`,
        `  echo "${name} (pid $old) did not exit within ${stopS} s of TERM: killing it" >&2`,
        `  kill -9 "$old" 2>/dev/null || true`,
        "fi",
        `sv -w 60 up ${l} >/dev/null`,
      ].join("\n");
    },
    observeSnippet(name) {
      const l = shq(linkPath(name));
      return [
        `p=false; r=false; pid=0`,
        `if [ -e ${l}/run ]; then p=true; fi`,
        // The shell's read, not cat: observe runs this for every component of every node each pass.
        `if [ -r ${l}/supervise/pid ]; then read -r pid < ${l}/supervise/pid || true; fi`,
        `case "$pid" in ''|*[!0-9]*) pid=0;; esac`,
        `if [ "$pid" -gt 0 ] && kill -0 "$pid" 2>/dev/null; then r=true; else pid=0; fi`,
        `printf '{"present":%s,"running":%s,"pid":%s}' "$p" "$r" "$pid"`,
      ].join("\n");
    },
    logTailScript(name, lines) {
      return `tail -n ${Math.trunc(lines)} ${shq(posix.join(NODE_PATHS.logDir, name, "current"))} 2>/dev/null || true`;
    },
  };
}
