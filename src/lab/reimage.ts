/**
 * Reimaging a lab node: what a fresh OS image would leave of yagura on a real machine — nothing.
 * Every service yagura defined (`/etc/yagura/sv/*`, linked into `/etc/service`) is stopped and
 * unlinked, then yagura's directories are wiped: etcd data, /etc/kubernetes, /etc/yagura,
 * /var/lib/kubelet. The node keeps its namespace, address, sshd and host key (the lab's "port").
 */
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
] as const;

/** The shell script (run as root on the node) that stops yagura's services and wipes its directories. */
export function reimageScript(): string {
  const defs = shq(NODE_PATHS.runitDefs);
  const scan = shq(NODE_PATHS.runitServiceDir);
  return [
    "set -e",
    `if [ -d ${defs} ]; then`,
    `  for d in ${defs}/*; do`,
    '    [ -d "$d" ] || continue',
    '    n=$(basename "$d")',
    `    if [ -e ${scan}/"$n" ]; then`,
    `      sv -w 30 down ${scan}/"$n" >/dev/null 2>&1 || sv force-stop ${scan}/"$n" >/dev/null 2>&1 || true`,
    `      rm -f ${scan}/"$n"`,
    "    fi",
    '    sv exit "$d" >/dev/null 2>&1 || true',
    '    [ -d "$d/log" ] && sv exit "$d/log" >/dev/null 2>&1 || true',
    "  done",
    "fi",
    // kubelet's pod volumes may still be mounted under /var/lib/kubelet: unmount before wiping.
    "if [ -d /var/lib/kubelet ]; then",
    "  grep -o ' /var/lib/kubelet[^ ]*' /proc/mounts | sort -r | while read -r m; do umount -l \"$m\" || true; done",
    "fi",
    ...REIMAGE_WIPED.map((d) => `rm -rf ${shq(d)}`),
    "echo reimaged",
  ].join("\n");
}

/** Reimages lab node `node` of `env` over ssh (pinned host key); throws with the output on failure. */
export async function labReimage(env: string, node: string, opts: LabOptions = {}): Promise<void> {
  const r = await labExec(env, node, "sh -s", { ...opts, input: reimageScript(), timeoutMs: 120_000 });
  if (r.code !== 0 || !r.stdout.includes("reimaged"))
    throw new Error(`lab ${env}: reimage of ${node} failed (exit ${r.code}): ${(r.stdout + r.stderr).trim()}`);
}
