/**
 * The kubelet's boot gate (CKE re-taints rebooted nodes the same way): the kubelet's service runs
 * a small script that execs the kubelet only when a gate file holds the node's current boot id
 * (/proc/sys/kernel/random/boot_id, new at every boot). yagura writes the id only after it has
 * re-added the boot taint through the API, so a rebooted node never runs workloads before the
 * boot-taint rung has seen its networking ready again.
 */
import { posix } from "node:path";
import { NODE_PATHS } from "../cluster/paths.js";
import { shq } from "../infra/shell.js";
import type { ManagedFile } from "../supervisor/types.js";
import { renderTemplate } from "../templates/render.js";

/** Paths of the gate on a node. */
export const BOOT_GATE = {
  /** The wrapper the kubelet's service runs: `boot-gate.sh <kubelet> <flags…>`. */
  script: posix.join(NODE_PATHS.yaguraDir, "kubelet", "boot-gate.sh"),
  /** Holds the boot id for which the boot taint was re-added. */
  file: posix.join(NODE_PATHS.yaguraDir, "kubelet", "boot-id"),
} as const;

/** How long the wrapper waits before exiting when the gate is closed (the supervisor then retries). */
export const BOOT_GATE_WAIT_SECONDS = 10;

/** The view model of templates/k8s/kubelet-boot-gate.sh.hbs. */
export interface BootGateView {
  /** Shell-quoted path of the gate file. */
  readonly gateFile: string;
  readonly waitSeconds: number;
}

/** The wrapper script file, part of the kubelet's definition (and so of its fingerprint). */
export function bootGateScriptFile(): ManagedFile {
  const view: BootGateView = { gateFile: shq(BOOT_GATE.file), waitSeconds: BOOT_GATE_WAIT_SECONDS };
  return { path: BOOT_GATE.script, content: renderTemplate("k8s/kubelet-boot-gate.sh.hbs", view), mode: 0o755 };
}

/** sh that opens the gate for the current boot (run only after the boot taint is on the Node). */
export function openBootGateScript(): string {
  const f = shq(BOOT_GATE.file);
  return [
    "set -e",
    `mkdir -p ${shq(posix.dirname(BOOT_GATE.file))}`,
    `cat /proc/sys/kernel/random/boot_id > ${f}.tmp`,
    `mv -f ${f}.tmp ${f}`,
  ].join("\n");
}

/**
 * sh for the observe script: sets `$bg` to true when the gate holds the current boot id, else
 * false. It must not exit.
 */
export function bootGateSnippet(): string {
  const f = shq(BOOT_GATE.file);
  // read, not $(cat …): no process for a check that runs on every node each pass.
  return (
    `bg=false; g=; b=; if [ -r ${f} ]; then read -r g < ${f} || true; fi; ` +
    `read -r b 2>/dev/null < /proc/sys/kernel/random/boot_id || true; ` +
    `if [ -n "$b" ] && [ "$g" = "$b" ]; then bg=true; fi`
  );
}
