/** A problem found in an inventory file: where it is and what to change. */
export interface Problem {
  /** Path of the inventory file as the user named it. */
  readonly file: string;
  /** 1-based line and column of the offending value (the key when the value is missing). */
  readonly line: number;
  readonly column: number;
  /** Dotted path inside the document, e.g. `nodePools[1].count`. */
  readonly path: string;
  /** What is wrong and what to change. */
  readonly message: string;
}

/** Renders a problem the way compilers do: `file:line:col: path: message`. */
export function formatProblem(p: Problem): string {
  return `${p.file}:${p.line}:${p.column}: ${p.path || "(document)"}: ${p.message}`;
}

/** Formats a path array as `a.b[2].c`. */
export function formatPath(path: readonly (string | number)[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out === "" ? part : `.${part}`;
  }
  return out;
}
