/**
 * `yagura service unit` as a person runs it: the unit printed or written into a directory, the
 * environment file refused while others may read it (with the chmod to run), warnings for a
 * missing file or a missing state key, and bad flags refused before anything is written.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runtimePathProblem } from "../../src/run/service-unit.js";

const ROOT = resolve(import.meta.dirname, "../..");
const LAB = join(ROOT, "inventory", "lab.yaml");

/** Runs the CLI; exit code, stdout and stderr. */
function yagura(args: string[]) {
  const r = spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "src/cli/main.ts"), ...args], {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, NODE_NO_WARNINGS: "1" },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

// A checkout under /tmp cannot be run by the unit (PrivateTmp hides it): then the command must say so.
const tmpCheckout = runtimePathProblem("the inventory", LAB);

describe("yagura service unit", () => {
  const dir = mkdtempSync(join(tmpdir(), "yagura-service-cli-"));
  const envFile = join(dir, "lab.env");
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("refuses an environment file others may read, naming it and the chmod", () => {
    writeFileSync(envFile, "YAGURA_STATE_KEY=x\n");
    chmodSync(envFile, 0o644);
    const r = yagura(["service", "unit", "lab", "--environment-file", envFile]);
    expect(r.code, r.err).toBe(1);
    expect(r.err).toContain(tmpCheckout ?? `${envFile} is readable by every user (mode 0644)`);
    if (!tmpCheckout) expect(r.err).toContain(`chmod 600 ${envFile}`);
    expect(r.out).toBe("");
  });

  it.skipIf(tmpCheckout !== undefined)("writes the unit into a directory and says what to run next", () => {
    chmodSync(envFile, 0o600);
    const printed = yagura(["service", "unit", "lab", "--environment-file", envFile, "--interval", "2m"]);
    expect(printed.code, printed.err).toBe(0);
    expect(printed.err).toBe("");
    const written = yagura(["service", "unit", "lab", "--environment-file", envFile, "--interval", "2m", "-o", dir]);
    expect(written.code, written.err).toBe(0);
    const unit = join(dir, "yagura-lab.service");
    expect(written.out).toContain(`wrote ${unit}`);
    expect(written.out).toContain("systemctl daemon-reload && systemctl enable --now yagura-lab.service");
    expect(readFileSync(unit, "utf8")).toBe(printed.out);
    expect(statSync(unit).mode & 0o777).toBe(0o644);
    expect(printed.out).toContain(`reconcile ${LAB} --watch`);
    expect(printed.out).toMatch(/^ {4}--interval 2m/m);
    expect(printed.out).toContain(`EnvironmentFile=${envFile}`);
  });

  it.skipIf(tmpCheckout !== undefined)(
    "warns about a missing file, and about a missing state key for an etcd state",
    () => {
      const missing = yagura(["service", "unit", "lab", "--environment-file", join(dir, "none.env")]);
      expect(missing.code, missing.err).toBe(0);
      expect(missing.err).toMatch(/none\.env does not exist yet; .*install -m 600/);
      writeFileSync(envFile, "YAGURA_S3_ACCESS_KEY_ID=x\n", { mode: 0o600 });
      const etcd = yagura(["service", "unit", "lab", "--environment-file", envFile, "--state", "etcd://10.0.0.5:2379"]);
      expect(etcd.code, etcd.err).toBe(0);
      expect(etcd.err).toContain("sets no YAGURA_STATE_KEY");
      expect(etcd.out).toMatch(/--state etcd:\/\/10\.0\.0\.5:2379/);
    },
  );

  it("refuses bad flags before writing anything", () => {
    const out = join(dir, "bad.service");
    for (const flags of [
      ["--metrics-addr", "9464"],
      ["--interval", "soon"],
      ["--scope", "kube"],
      ["--state-dir", "/var/lib/my state"],
      ["--user", "Root!"],
    ]) {
      const r = yagura(["service", "unit", "lab", "--environment-file", envFile, "-o", out, ...flags]);
      expect(r.code, `${flags.join(" ")}: ${r.err}`).toBe(1);
      expect(existsSync(out)).toBe(false);
    }
  });
});
