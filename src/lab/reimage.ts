/**
 * Reimaging a lab node: what a fresh OS image would leave of yagura on a real machine — nothing.
 * Every service yagura defined (`/etc/yagura/sv/*`, linked into `/etc/service`, containerd
 * included) is stopped and unlinked; the pods' processes die as in a reboot, and containerd's
 * state goes with yagura's directories: etcd data, /etc/kubernetes, /etc/yagura, /var/lib/kubelet,
 * the CNI config. The node keeps its namespace, address, sshd, host key (the lab's "port") and its
 * image (/opt, /usr: the runtime's packages and preloaded images).
 */
import { OperationFailedError } from "../cli/errors.js";
import { NODE_PATHS } from "../cluster/paths.js";
import { shq } from "../infra/shell.js";
import type { LabOptions } from "./context.js";
import { labExec } from "./shell.js";

/** Directories a reimage wipes. */
export const REIMAGE_WIPED = [
  NODE_PATHS.etcdDataDir,
  NODE_PATHS.kubernetesDir,
  NODE_PATHS.yaguraDir,
  "/var/lib/kubelet",
  "/etc/cni/net.d",
  "/run/containerd",
] as const;

/** The shell script (run as root on the node) that stops yagura's services and wipes its directories. */
export function reimageScript(): string {
  const defs = shq(NODE_PATHS.runitDefs);
  const scan = shq(NODE_PATHS.runitServiceDir);
  return [
    "set -e",
    // Every service is told to stop at once and gets 10 s together, then is killed: a reimage is a
    // power-off, not a graceful stop (an apiserver alone would hold its watches for a minute).
    `if [ -d ${defs} ]; then`,
    "  set --",
    `  for d in ${defs}/*; do`,
    `    if [ -d "$d" ] && [ -e ${scan}/"\${d##*/}" ]; then set -- "$@" ${scan}/"\${d##*/}"; fi`,
    "  done",
    '  if [ $# -gt 0 ]; then sv -w 10 down "$@" >/dev/null 2>&1 || sv force-stop "$@" >/dev/null 2>&1 || true; fi',
    `  for d in ${defs}/*; do`,
    '    [ -d "$d" ] || continue',
    `    rm -f ${scan}/"\${d##*/}"`,
    '    sv exit "$d" >/dev/null 2>&1 || true',
    '    [ -d "$d/log" ] && sv exit "$d/log" >/dev/null 2>&1 || true',
    "  done",
    "fi",
    // Containers outlive containerd (their shims keep them): kill them and their shims, as a reboot would.
    "for p in /proc/[0-9]*; do",
    '  if grep -q kubepods "$p/cgroup" 2>/dev/null || grep -q containerd-shim "$p/cmdline" 2>/dev/null; then',
    '    kill -9 "${p#/proc/}" 2>/dev/null || true',
    "  fi",
    "done",
    // Pod volumes and container root filesystems may still be mounted: unmount before wiping.
    "grep -o -e ' /var/lib/kubelet[^ ]*' -e ' /run/containerd[^ ]*' -e ' /var/lib/containerd/[^ ]*' /proc/mounts |",
    '  sort -r | while read -r m; do umount -l "$m" || true; done',
    ...REIMAGE_WIPED.map((d) => `rm -rf ${shq(d)}`),
    // /var/lib/containerd is the node's own bind-mounted disk: empty it, keep the mount point.
    "find /var/lib/containerd -mindepth 1 -maxdepth 1 -exec rm -rf {} + 2>/dev/null || true",
    "echo reimaged",
  ].join("\n");
}

/** Reimages lab node `node` of `env` over ssh (pinned host key); throws with the output on failure. */
export async function labReimage(env: string, node: string, opts: LabOptions = {}): Promise<void> {
  const r = await labExec(env, node, "sh -s", { ...opts, input: reimageScript(), timeoutMs: 120_000 });
  if (r.code !== 0 || !r.stdout.includes("reimaged"))
    throw new OperationFailedError(
      `lab ${env}: reimage of ${node} failed (exit ${r.code}): ${(r.stdout + r.stderr).trim()}; run it again, or yagura lab down and up`,
    );
}
