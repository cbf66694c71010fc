/**
 * Stack traces that name the .ts lines, paid for only when one is printed. The build's chunks
 * (dist/yagura/*.js) each have a linked source map; Node's own `--enable-source-maps` (or
 * process.setSourceMapsEnabled) would parse the map of every module as it loads, the libraries'
 * too (handlebars carries a 600 KB inline one): a third of a second of every `status` or
 * `reconcile`. Here a frame's map is read when a stack is printed, and frames without a map
 * (the sources run through tsx, node:internal, the libraries) are left as they are.
 */
import { readFileSync } from "node:fs";
import { SourceMap } from "node:module";
import { dirname, isAbsolute, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** `file:///…/x.js:12:5` or `/…/x.js:12:5` inside a stack frame. */
const FRAME = /((?:file:\/\/)?\/[^\s()]+?\.[cm]?js):(\d+):(\d+)/g;

/** `stack` with each frame of a file that has a linked `.map` beside it rewritten to its source line. */
export function mapStack(stack: string): string {
  const maps = new Map<string, SourceMap | null>();
  const mapOf = (file: string): SourceMap | null => {
    let m = maps.get(file);
    if (m === undefined) {
      try {
        m = new SourceMap(JSON.parse(readFileSync(`${file}.map`, "utf8")));
      } catch {
        m = null; // no map beside it, or not readable: the frame stays as it is
      }
      maps.set(file, m);
    }
    return m;
  };
  return stack.replace(FRAME, (frame: string, where: string, line: string, column: string) => {
    const file = where.startsWith("file:") ? fileURLToPath(where) : where;
    const entry = mapOf(file)?.findEntry(Number(line) - 1, Number(column) - 1);
    if (!entry || !("originalSource" in entry) || !entry.originalSource) return frame;
    const src = entry.originalSource;
    const path = src.startsWith("file:") ? fileURLToPath(src) : isAbsolute(src) ? src : resolve(dirname(file), src);
    return `${path}:${entry.originalLine + 1}:${entry.originalColumn + 1}`;
  });
}
