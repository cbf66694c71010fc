#!/usr/bin/env node
// Builds the CLI once into dist/yagura/ (git-ignored): src/cli/main.ts and everything it imports,
// bundled by esbuild into ES modules, the npm packages left external. Every `await import()` in the
// sources becomes its own chunk, so a command loads only the libraries its action imports.
// Source maps sit beside each file; a stack trace yagura prints is mapped through them to .ts lines (src/cli/source-stack.ts).
// `build.json` lists every input with its mtime: bin/yagura.mjs rebuilds when one changed.
//
// Usage: node scripts/build.mjs [--quiet]      (scripts/install.sh runs it)
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const OUT_DIR = join(ROOT, "dist", "yagura");
const ENTRY = join(ROOT, "src", "cli", "main.ts");
const SELF = relative(ROOT, fileURLToPath(import.meta.url));
// Chunks the new build does not reference go once they are a day old (a build that makes one again
// rewrites it): a process started from an older build, a watch above all, imports its chunks lazily
// for as long as it runs. \`rm -rf dist\` clears them all.
const KEEP_OLD_MS = 24 * 60 * 60_000;

/**
 * Modules find templates/, inventory/ and the provider schema relative to their own file
 * (`import.meta.url`). In a bundle that would be the chunk's URL, so each project module's
 * `import.meta.url` is rewritten to the URL of its .ts source, computed from the chunk's location:
 * the paths resolve as they do from the sources, wherever the checkout lives.
 */
const sourceUrls = {
  name: "source-import-meta",
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, (args) => {
      if (args.path.includes(`${join("node_modules", "")}`)) return undefined;
      const text = readFileSync(args.path, "utf8");
      if (!text.includes("import.meta.")) return { contents: text, loader: "ts" };
      const rel = JSON.stringify(relative(OUT_DIR, args.path).split("\\").join("/"));
      const url = `new URL(${rel}, import.meta.url).href`;
      return {
        contents: text
          .replaceAll("import.meta.url", url)
          .replaceAll("import.meta.dirname", `__yaguraDirname(${url})`)
          .replaceAll("import.meta.filename", `__yaguraFilename(${url})`),
        loader: "ts",
      };
    });
  },
};

// The packages every command loads are bundled in (their dozens of files cost more to find and load
// one by one than their code does); CommonJS among them needs a require.
const BUNDLED = ["commander", "yaml", "zod"];
const PACKAGE = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
const EXTERNAL = Object.keys({ ...PACKAGE.dependencies, ...PACKAGE.devDependencies }).filter(
  (p) => !BUNDLED.includes(p),
);

const BANNER = [
  'import { createRequire as __yaguraCreateRequire } from "node:module";',
  "const require = __yaguraCreateRequire(import.meta.url);",
  'import { fileURLToPath as __yaguraToPath } from "node:url";',
  'import { dirname as __yaguraDir } from "node:path";',
  "const __yaguraFilename = (u) => __yaguraToPath(u);",
  "const __yaguraDirname = (u) => __yaguraDir(__yaguraToPath(u));",
].join("\n");

/**
 * The packages every command loads before its action runs: those main.js imports statically,
 * directly or through the chunks it imports statically (`await import()` edges are not followed).
 */
function startupPackages(metafile) {
  const outputs = metafile.outputs;
  const key = (p) => Object.keys(outputs).find((k) => resolve(ROOT, k) === resolve(ROOT, p));
  const seen = new Set();
  const packages = new Set();
  const todo = [key(join(relative(ROOT, OUT_DIR), "main.js"))];
  while (todo.length > 0) {
    const out = todo.pop();
    if (!out || seen.has(out)) continue;
    seen.add(out);
    for (const i of outputs[out].imports) {
      if (i.kind !== "import-statement") continue;
      if (i.external)
        packages.add(i.path.startsWith("@") ? i.path.split("/").slice(0, 2).join("/") : i.path.split("/")[0]);
      else todo.push(key(i.path));
    }
  }
  return [...packages].filter((p) => !p.startsWith("node:")).sort();
}

/** Builds into OUT_DIR; returns the number of input files. Safe to run while other builds run. */
export async function build({ quiet = false } = {}) {
  const esbuild = await import("esbuild");
  const started = Date.now();
  const res = await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: { main: ENTRY },
    outdir: OUT_DIR,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    external: EXTERNAL,
    sourcemap: "linked",
    sourcesContent: false,
    // The generated OpenStack bindings and the constructs use TypeScript's legacy decorators.
    tsconfig: join(ROOT, "tsconfig.json"),
    banner: { js: BANNER },
    plugins: [sourceUrls],
    metafile: true,
    write: false,
    logLevel: "warning",
  });
  mkdirSync(OUT_DIR, { recursive: true });
  // Chunks are named by content hash: write them first (a name that exists holds the same bytes),
  // then swap the entry and the stamp in by rename, so a yagura starting meanwhile sees one build.
  const last = [];
  const tmp = (p) => `${p}.${process.pid}.tmp`;
  for (const f of res.outputFiles) {
    if (/[\\/]main\.js(\.map)?$/.test(f.path)) last.push(f);
    else {
      writeFileSync(tmp(f.path), f.contents);
      renameSync(tmp(f.path), f.path);
    }
  }
  const inputs = {};
  const bundled = BUNDLED.map((p) => join("node_modules", p, "package.json"));
  for (const p of [...Object.keys(res.metafile.inputs).filter((p) => !p.includes("node_modules")), ...bundled, SELF]) {
    const m = statSync(join(ROOT, p)).mtimeMs;
    // An input edited while the build ran may not be in it: record it as changed.
    inputs[p] = m >= started ? 0 : m;
  }
  const stamp = join(OUT_DIR, "build.json");
  const startup = startupPackages(res.metafile);
  writeFileSync(tmp(stamp), JSON.stringify({ startup, inputs }, null, 1) + "\n");
  for (const f of last) {
    writeFileSync(tmp(f.path), f.contents);
    renameSync(tmp(f.path), f.path);
  }
  renameSync(tmp(stamp), stamp);
  const made = new Set([...res.outputFiles.map((f) => f.path), stamp]);
  for (const name of readdirSync(OUT_DIR)) {
    const p = join(OUT_DIR, name);
    if (made.has(p)) continue;
    try {
      if (Date.now() - statSync(p).mtimeMs > KEEP_OLD_MS) rmSync(p, { force: true });
    } catch {
      // removed by a build running beside this one
    }
  }
  if (!quiet)
    console.log(
      `built ${relative(ROOT, OUT_DIR)}/main.js from ${Object.keys(inputs).length} files in ${Date.now() - started} ms`,
    );
  return Object.keys(inputs).length;
}

/** Why the build in OUT_DIR cannot be run as it is (missing, or an input changed), or undefined. */
export function staleReason() {
  let stamp;
  try {
    stamp = JSON.parse(readFileSync(join(OUT_DIR, "build.json"), "utf8"));
  } catch {
    return `there is no build in ${relative(ROOT, OUT_DIR)}`;
  }
  for (const [p, m] of Object.entries(stamp.inputs)) {
    let now;
    try {
      now = statSync(join(ROOT, p)).mtimeMs;
    } catch {
      return `${p} is gone since the last build`;
    }
    if (now !== m) return `${p} changed since the last build`;
  }
  return undefined;
}

if (process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url) {
  await build({ quiet: process.argv.includes("--quiet") });
}
