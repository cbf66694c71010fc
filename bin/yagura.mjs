#!/usr/bin/env node
// The yagura command. Runs the JavaScript build of src/ in dist/yagura (scripts/build.mjs, run by
// scripts/install.sh); the stack traces it prints name the .ts lines through the build's source
// maps, read only when one is printed (src/cli/source-stack.ts). In a
// checkout whose sources changed since the last build, the build is made again first (about a second),
// so an edit takes effect as it did when the sources ran directly.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { build, OUT_DIR, staleReason } from "../scripts/build.mjs";

const stale = staleReason();
if (stale !== undefined) {
  // Said only to a person: scripts and tests read stderr for yagura's own messages.
  if (process.stderr.isTTY) process.stderr.write(`yagura: ${stale}; building (node scripts/build.mjs)\n`);
  try {
    await build({ quiet: true });
  } catch (err) {
    const code = err?.code;
    process.stderr.write(
      code === "ERR_MODULE_NOT_FOUND"
        ? `yagura: ${stale}, and the build needs esbuild, a dev dependency: run \`npm install\`, then \`node scripts/build.mjs\`\n`
        : ["EACCES", "EPERM", "EROFS"].includes(code)
          ? `yagura: ${stale}, and ${OUT_DIR} cannot be written here (${code}): run \`node scripts/build.mjs\` as the checkout's owner\n`
          : `yagura: ${stale}, and the build failed (${err?.message ?? err}): fix the sources, then run \`node scripts/build.mjs\`\n`,
    );
    process.exit(1);
  }
}
// `--version` alone is answered here, as the CLI would, without loading it (the CLI's modules, zod
// and commander are most of a cold start): a script asking for the version gets it at once.
const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === "--version" || args[0] === "-V")) {
  const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
  process.stdout.write(`${pkg.version}\n`);
} else {
  await import(pathToFileURL(join(OUT_DIR, "main.js")).href);
}
