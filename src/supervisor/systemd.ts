/**
 * systemd: the supervisor on real machines. One unit per component in /etc/systemd/system,
 * rendered from templates/supervisor/systemd.service.hbs; `systemctl` controls it.
 */
import { posix } from "node:path";
import { NODE_PATHS } from "../cluster/paths.js";
import { shq } from "../infra/shell.js";
import { renderTemplate } from "../templates/render.js";
import type { ManagedFile, ServiceDef, Supervisor } from "./types.js";

const unit = (name: string) => `${name}.service`;

/**
 * Quotes one argument for an ExecStart= line (systemd's own quoting, not sh's): a double-quoted
 * word with `\` and `"` escaped, `$` doubled (no variable expansion), `%` doubled (no specifier)
 * and control characters as C escapes, which systemd unescapes.
 */
export function systemdQuote(arg: string): string {
  if (arg.includes("\0")) throw new Error("a systemd argument cannot contain a NUL byte");
  if (/^[A-Za-z0-9_@+=:,./-]+$/.test(arg)) return arg;
  const escaped = arg
    .replace(/\\/g, "\\\\")
    .replace(/"/g, '\\"')
    .replace(/\$/g, "$$$$")
    .replace(/%/g, "%%")
    // eslint-disable-next-line no-control-regex -- control characters are what is looked for
    .replace(/[\x01-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
  return `"${escaped}"`;
}

/**
 * The executable of an ExecStart= line: an absolute path, quoted when it holds spaces, `%` doubled.
 * systemd neither expands `$` there nor accepts quotes, backslashes or control characters in it,
 * so such a path is refused rather than quoted into another one.
 */
export function systemdExecutable(path: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what is looked for
  if (!path.startsWith("/") || /["'\\\x00-\x1f\x7f]/.test(path))
    throw new Error(
      `systemd cannot run ${JSON.stringify(path)}: an executable must be an absolute path without quotes, backslashes or control characters`,
    );
  const p = path.replace(/%/g, "%%");
  return /\s/.test(p) ? `"${p}"` : p;
}

/** Creates the systemd supervisor. */
export function systemdSupervisor(): Supervisor {
  return {
    kind: "systemd",
    prerequisites: ["systemctl"],
    render(def: ServiceDef): ManagedFile[] {
      return [
        {
          path: posix.join(NODE_PATHS.systemdDir, unit(def.name)),
          mode: 0o644,
          content: renderTemplate("supervisor/systemd.service.hbs", {
            description: def.description,
            environmentFile: def.environmentFile,
            command: def.argv.map(systemdQuote).join(" \\\n  "),
            ...(def.stopTimeoutSeconds !== undefined ? { stopTimeout: Math.trunc(def.stopTimeoutSeconds) } : {}),
          }),
        },
      ];
    },
    startScript(name) {
      const u = shq(unit(name));
      return ["set -e", "systemctl daemon-reload", `systemctl enable ${u}`, `systemctl start ${u}`].join("\n");
    },
    stopScript(name) {
      const u = shq(unit(name));
      return [`systemctl disable --now ${u} >/dev/null 2>&1 || true`].join("\n");
    },
    // The unit's TimeoutStopSec bounds the stop; systemd kills what outlives it.
    restartScript(name) {
      const u = shq(unit(name));
      return ["set -e", "systemctl daemon-reload", `systemctl restart ${u}`].join("\n");
    },
    observeSnippet(name) {
      const u = shq(unit(name));
      return [
        `p=false; r=false; pid=0`,
        `if systemctl is-enabled --quiet ${u} 2>/dev/null; then p=true; fi`,
        `if systemctl is-active --quiet ${u} 2>/dev/null; then r=true; pid=$(systemctl show -p MainPID --value ${u} 2>/dev/null); fi`,
        `case "$pid" in ''|*[!0-9]*) pid=0;; esac`,
        `printf '{"present":%s,"running":%s,"pid":%s}' "$p" "$r" "$pid"`,
      ].join("\n");
    },
    logTailScript(name, lines) {
      return `journalctl -u ${shq(unit(name))} -n ${Math.trunc(lines)} --no-pager -o short-iso 2>/dev/null || true`;
    },
  };
}
