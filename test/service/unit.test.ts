/**
 * The systemd unit of `reconcile --watch`: a golden file, systemd's own offline checks
 * (`systemd-analyze verify` and `security --offline`), hostile paths and names quoted so that
 * systemd reads back exactly what was meant, and the paths the unit refuses.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import {
  renderWatchUnit,
  runtimePathProblem,
  watchUnitName,
  type WatchUnitOptions,
} from "../../src/run/service-unit.js";
import { systemdQuote } from "../../src/supervisor/systemd.js";
import { matchGolden } from "../support/golden.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, "../..");
const analyze = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"].find(existsSync);
const noAnalyze = analyze
  ? undefined
  : "systemd-analyze missing (apt-get install systemd): the offline unit checks are skipped";
if (noAnalyze) console.warn(noAnalyze);

const base: WatchUnitOptions = {
  env: "prod",
  inventoryFile: "/etc/yagura/inventory/prod.yaml",
  exec: ["/usr/bin/node", "/opt/yagura/bin/yagura.mjs"],
  environmentFile: "/etc/yagura/prod.env",
  watchArgs: ["--metrics-addr", "127.0.0.1:9464", "--interval", "5m"],
};

/** The ExecStart= value of a unit, continuation lines joined as systemd joins them. */
const execStartOf = (unit: string) => /^ExecStart=((?:.*\\\n)*.*)$/m.exec(unit)![1]!.replace(/\\\n/g, " ");

/**
 * Splits an ExecStart= value the way systemd.service(5) documents it: `%%` is a literal `%`, words
 * split on whitespace, double quotes group, C escapes are unescaped, and in the arguments (not the
 * executable) `$$` is a literal `$`. Throws on anything systemd would expand.
 */
function systemdArgv(value: string): string[] {
  if (/%[^%]/.test(value.replace(/%%/g, ""))) throw new Error(`unescaped specifier in ${value}`);
  const s = value.replace(/%%/g, "%");
  const words: string[] = [];
  let i = 0;
  const esc: Record<string, string> = { n: "\n", t: "\t", "\\": "\\", '"': '"', "'": "'" };
  while (i < s.length) {
    while (s[i] === " ") i++;
    if (i >= s.length) break;
    let w = "";
    const quoted = s[i] === '"';
    if (quoted) i++;
    while (i < s.length && (quoted ? s[i] !== '"' : s[i] !== " ")) {
      if (s[i] === "\\") {
        const c = s[i + 1]!;
        if (c === "x") {
          w += String.fromCharCode(parseInt(s.slice(i + 2, i + 4), 16));
          i += 4;
        } else if (esc[c] !== undefined) {
          w += esc[c];
          i += 2;
        } else throw new Error(`unknown escape \\${c}`);
      } else w += s[i++];
    }
    if (quoted) i++;
    if (words.length > 0) {
      if (/\$[^$]/.test(w.replace(/\$\$/g, ""))) throw new Error(`unescaped $ in ${w}`);
      w = w.replace(/\$\$/g, "$");
    }
    words.push(w);
  }
  return words;
}

/** `systemd-analyze verify` of `unit` saved as `dir/name`: exit code and every line it printed about the unit. */
function verify(dir: string, name: string, unit: string) {
  const file = join(dir, name);
  writeFileSync(file, unit);
  const r = spawnSync(analyze!, ["verify", file], { encoding: "utf8" });
  const out = `${r.stdout}${r.stderr}`;
  return {
    code: r.status,
    complaints: out.split("\n").filter((l) => l.includes(name) || /special|not executable/.test(l)),
  };
}

describe("the reconcile --watch unit", () => {
  const tmp = mkdtempSync(join(tmpdir(), "yagura-unit-"));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it("matches the reviewed golden file", () => {
    matchGolden(join(HERE, "golden"), "yagura-prod.service", renderWatchUnit(base));
  });

  it("has the restart policy, state directory, environment file and hardening it promises", () => {
    const u = renderWatchUnit(base);
    for (const line of [
      "Restart=on-failure",
      "RestartSec=30s",
      "StartLimitBurst=5",
      "StateDirectory=yagura",
      "StateDirectoryMode=0700",
      "Environment=YAGURA_STATE_DIR=/var/lib/yagura",
      "EnvironmentFile=/etc/yagura/prod.env",
      "User=yagura",
      "NoNewPrivileges=yes",
      "ProtectSystem=strict",
      "ProtectHome=yes",
      "PrivateTmp=yes",
      "CapabilityBoundingSet=",
      "UMask=0077",
    ])
      expect(u.split("\n"), line).toContain(line);
    expect(u).not.toMatch(/^MemoryDenyWriteExecute=/m);
    expect(systemdArgv(execStartOf(u))).toEqual([
      "/usr/bin/node",
      "/opt/yagura/bin/yagura.mjs",
      "reconcile",
      "/etc/yagura/inventory/prod.yaml",
      "--watch",
      "--metrics-addr",
      "127.0.0.1:9464",
      "--interval",
      "5m",
    ]);
  });

  it("keeps a state directory outside /var/lib writable through ReadWritePaths, runs as root without User=, reads /home read-only", () => {
    const u = renderWatchUnit({
      ...base,
      user: "root",
      stateDir: "/srv/yagura",
      inventoryFile: "/home/ops/prod.yaml",
      readWritePaths: ["/opt/yagura"],
    });
    expect(u).toMatch(/^ReadWritePaths=\/srv\/yagura$/m);
    expect(u).toMatch(/^ReadWritePaths=\/opt\/yagura$/m);
    expect(u).not.toMatch(/^StateDirectory=/m);
    expect(u).not.toMatch(/^User=/m);
    expect(u).toMatch(/^ProtectHome=read-only$/m);
  });

  it("refuses paths systemd would split or expand, and run-time files PrivateTmp hides", () => {
    expect(() => renderWatchUnit({ ...base, stateDir: "/srv/my state" })).toThrow(
      /--state-dir "\/srv\/my state" must be/,
    );
    expect(() => renderWatchUnit({ ...base, environmentFile: "/etc/yagura/%n.env" })).toThrow(/--environment-file/);
    expect(() => renderWatchUnit({ ...base, stateDir: "/var/lib/../etc" })).toThrow(/--state-dir/);
    expect(() => renderWatchUnit({ ...base, user: "Bad User" })).toThrow(/--user/);
    expect(() => renderWatchUnit({ ...base, exec: ['/opt/ya"gura'] })).toThrow(/systemd cannot run/);
    expect(runtimePathProblem("the inventory", "/tmp/prod.yaml")).toMatch(/PrivateTmp=yes hides/);
    expect(runtimePathProblem("the inventory", "/etc/yagura/prod.yaml")).toBeUndefined();
  });

  it("quotes hostile arguments so they read back exactly", () => {
    const hostile = ['a "b" $c', "50%n", "back\\slash", "new\nline\ttab", "it's $$ %% ${HOME}", "-", "ünï"];
    for (const h of hostile) expect(systemdArgv(`/x ${systemdQuote(h)}`)[1], JSON.stringify(h)).toBe(h);
  });

  it("names units after any environment with characters a unit name cannot hold escaped", () => {
    expect(watchUnitName("prod-eu")).toBe("yagura-prod-eu.service");
    expect(watchUnitName("we$ird %n")).toBe("yagura-we\\x24ird\\x20\\x25n.service");
    expect(watchUnitName(".hidden")).toBe("yagura-\\x2ehidden.service");
  });

  describe.skipIf(noAnalyze !== undefined)("systemd-analyze", () => {
    const exec = [process.execPath, join(ROOT, "bin", "yagura.mjs")];

    it("verifies the unit without a complaint and rates its exposure OK", () => {
      const unit = renderWatchUnit({ ...base, exec, inventoryFile: join(ROOT, "inventory", "lab.yaml") });
      const v = verify(tmp, "yagura-prod.service", unit);
      expect(v.complaints, v.complaints.join("\n")).toEqual([]);
      expect(v.code).toBe(0);
      const s = spawnSync(analyze!, ["security", "--offline=yes", join(tmp, "yagura-prod.service")], {
        encoding: "utf8",
      });
      const level = /Overall exposure level for \S+: ([\d.]+) (\w+)/.exec(s.stdout);
      console.log(`systemd-analyze security --offline: exposure ${level?.[1]} ${level?.[2]}`);
      expect(Number(level?.[1]), s.stdout.slice(-2000)).toBeLessThan(2.5);
    });

    it("reads a hostile executable path, inventory path and environment name as written", () => {
      const dir = join(tmp, "we ird$x%n");
      mkdirSync(dir, { recursive: true });
      const yagura = join(dir, "yagura");
      writeFileSync(yagura, "#!/bin/sh\n");
      chmodSync(yagura, 0o755);
      const inventoryFile = "/srv/inv $HOME/%n \"q\" 'x' \\b\n.yaml";
      const env = "we$ird %n";
      const unit = renderWatchUnit({ ...base, env, exec: [yagura], inventoryFile });
      // systemd resolves the executable while verifying: a wrong unquoting names another path.
      const v = verify(tmp, watchUnitName(env), unit);
      expect(v.complaints, v.complaints.join("\n")).toEqual([]);
      expect(v.code).toBe(0);
      expect(systemdArgv(execStartOf(unit)).slice(0, 4)).toEqual([yagura, "reconcile", inventoryFile, "--watch"]);
      expect(unit).toMatch(/^Description=yagura reconcile --watch we\$ird %%n$/m);
    });

    it("catches a broken unit (the check can fail)", () => {
      const broken = renderWatchUnit({ ...base, exec }).replace("ProtectSystem=strict", "ProtectSystem=strictly");
      expect(verify(tmp, "yagura-broken.service", broken).complaints.join("\n")).toMatch(/ProtectSystem|protect/i);
      const missing = renderWatchUnit({ ...base, exec: [join(tmp, "no-such-yagura")] });
      expect(verify(tmp, "yagura-missing.service", missing).code).not.toBe(0);
    });
  });
});
