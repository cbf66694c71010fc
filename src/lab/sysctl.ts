/**
 * Kernel settings a kubelet rewrites are global (every lab node shares the host kernel). The first
 * lab to come up on the machine saves them; the last one to go down restores them. The record is
 * machine-wide, in /run (gone on reboot, like the labs themselves).
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { RefusedError } from "../cli/errors.js";
import { withLock } from "./lock.js";
import { stateFile } from "./state.js";

/** The settings saved and restored, as /proc/sys paths relative to /proc/sys. */
export const GUARDED_SYSCTLS = [
  "vm/overcommit_memory",
  "vm/panic_on_oom",
  "kernel/panic",
  "kernel/panic_on_oops",
  "kernel/keys/root_maxkeys",
  "kernel/keys/root_maxbytes",
] as const;

/** The machine-wide dir of all labs: the sysctl record and the network lock (overridable). */
export const SYSCTL_DIR = process.env.YAGURA_LAB_RUN_DIR ?? "/run/yagura-lab";

interface Registry {
  /** Values before the first lab came up. */
  orig: Record<string, string>;
  /** Lab dirs that are up. */
  holders: string[];
}

/** Reads the current values of the guarded settings. */
export function readSysctls(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of GUARDED_SYSCTLS) out[k] = readFileSync(join("/proc/sys", k), "utf8").trim();
  return out;
}

function locked<T>(fn: (reg: Registry | undefined, save: (r: Registry | undefined) => void) => T): Promise<T> {
  mkdirSync(SYSCTL_DIR, { recursive: true, mode: 0o700 });
  const file = join(SYSCTL_DIR, "sysctl.json");
  return withLock(
    join(SYSCTL_DIR, "sysctl.lock"),
    async () => {
      const reg = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Registry) : undefined;
      // A lab whose state file is gone can no longer release: drop it so the last real down restores.
      if (reg) reg.holders = reg.holders.filter((h) => existsSync(stateFile(h)));
      return fn(reg, (r) =>
        r ? writeFileSync(file, JSON.stringify(r) + "\n", { mode: 0o600 }) : rmSync(file, { force: true }),
      );
    },
    10_000,
    (pid) => {
      throw new RefusedError(
        `the lab's sysctl record has been locked by pid ${pid} for 10 s (another lab command); run this again once it ends`,
      );
    },
  );
}

/** Registers `labDir` as up; the first holder on the machine saves the current values. */
export function holdSysctls(labDir: string): Promise<void> {
  return locked((reg, save) => {
    const r = reg && reg.holders.length > 0 ? reg : { orig: readSysctls(), holders: [] };
    if (!r.holders.includes(labDir)) r.holders.push(labDir);
    save(r);
  });
}

/** Unregisters `labDir`; the last holder restores the saved values. Returns true when it restored. */
export function releaseSysctls(labDir: string): Promise<boolean> {
  return locked((reg, save) => {
    if (!reg) return false;
    reg.holders = reg.holders.filter((h) => h !== labDir);
    if (reg.holders.length > 0) {
      save(reg);
      return false;
    }
    for (const [k, v] of Object.entries(reg.orig)) {
      if (readFileSync(join("/proc/sys", k), "utf8").trim() !== v) writeFileSync(join("/proc/sys", k), v + "\n");
    }
    save(undefined);
    return true;
  });
}
