/** Node-side commands shared by every component: write files, run a script, with checks first. */
import { createHash } from "node:crypto";
import { posix } from "node:path";
import { shq } from "../../infra/shell.js";
import type { ManagedFile } from "../../supervisor/types.js";
import { command, type Command } from "../types.js";

const sha = (s: string) => createHash("sha256").update(s).digest("hex");

/**
 * Uploads the files whose content differs on the node (one round trip to compare, one upload
 * per changed file, atomic and with its mode). Secret files are never echoed.
 */
export function writeFilesCommand(name: string, node: string, files: readonly ManagedFile[]): Command {
  return command(name, node, async (ctx) => {
    if (files.length === 0) return;
    const list = files.map((f) => shq(f.path)).join(" ");
    const out = await ctx.shell.run(node, `for f in ${list}; do if [ -f "$f" ]; then sha256sum "$f"; fi; done`);
    const have = new Map<string, string>();
    for (const line of out.split("\n")) {
      const m = /^([0-9a-f]{64})\s+(.+)$/.exec(line.trim());
      if (m) have.set(m[2]!, m[1]!);
    }
    const dirs = [...new Set(files.map((f) => posix.dirname(f.path)))];
    await ctx.shell.run(node, `mkdir -p ${dirs.map(shq).join(" ")}`);
    for (const f of files) {
      if (have.get(f.path) === sha(f.content)) continue;
      await ctx.shell.upload(node, f.path, f.content, { mode: f.secret ? 0o600 : f.mode });
    }
  });
}

/** Runs an sh script on a node (sent on stdin, so nothing is interpolated into a command line). */
export function scriptCommand(name: string, node: string, script: string, timeoutMs?: number): Command {
  return command(name, node, async (ctx) => {
    await ctx.shell.run(node, "sh -s", { stdin: script, ...(timeoutMs ? { timeoutMs } : {}) });
  });
}
