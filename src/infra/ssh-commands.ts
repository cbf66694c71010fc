/**
 * The shell text the SSH pool sends: a command under a remote timeout, and the one-round-trip
 * atomic upload.
 */
import { posix } from "node:path";
import { cmd, shq } from "./shell.js";

/**
 * Runs `command` with /bin/sh under coreutils' timeout, which kills the command's whole process
 * group when time is up. The SSH "signal" request cannot: sshd refuses it for root sessions
 * ("session signalling requires privilege separation"). /bin/sh rather than the login shell makes
 * every node interpret commands alike and skips a second read of the user's ~/.bashrc.
 */
export function withRemoteTimeout(command: string, timeoutMs: number): string {
  const secs = (Math.max(timeoutMs, 1) / 1000).toFixed(3);
  // A script on stdin (observe's, every op's) needs no shell to start its shell: timeout runs
  // /bin/sh -s itself. The extra sh was 6–9 ms of a no-op observe's 43 ms of CPU on a lab node.
  if (command === STDIN_SCRIPT) return `exec timeout -k 5 ${secs} /bin/sh -s`;
  return `exec timeout -k 5 ${secs} /bin/sh -c ${shq(command)}`;
}

/** The command that runs the script given on stdin, as the callers write it. */
export const STDIN_SCRIPT = "sh -s";

/**
 * One round trip: write stdin to a private temp file beside the target, fsync it, set mode and
 * owner, rename over the target, fsync the directory. A failure removes the temp file.
 */
export function uploadCommand(path: string, mode: number, owner?: string): string {
  if (!posix.isAbsolute(path) || path.endsWith("/"))
    throw new Error(`upload path must be an absolute file path: ${path}`);
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777)
    throw new Error(`upload mode must be 0 to 0o7777, got ${mode}`);
  const dir = posix.dirname(path);
  const tmp = posix.join(dir, `.${posix.basename(path)}.yagura.XXXXXX`);
  const m = mode.toString(8).padStart(4, "0");
  return [
    "set -e",
    cmd`mkdir -p ${dir}`,
    cmd`t=$(mktemp ${tmp})`,
    `trap 'rm -f "$t"' EXIT`,
    `cat > "$t"`,
    `chmod ${shq(m)} "$t"`,
    ...(owner ? [`chown ${shq(owner)} "$t"`] : []),
    `sync "$t"`,
    cmd`mv -f "$t" ${path}`,
    cmd`sync ${dir}`,
  ].join("\n");
}
