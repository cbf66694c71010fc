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

/** Quotes one argument for an ExecStart= line (systemd's own quoting, not sh's). */
export function systemdQuote(arg: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `"${arg.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\$/g, "$$$$").replace(/%/g, "%%")}"`;
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
