/**
 * Quoting for POSIX sh. Everything that reaches a remote shell from the inventory or from yagura's
 * own data goes through `shq` or the `cmd` template, so a value can never end a word or start a
 * command.
 */

/** Quotes one value as a single sh word: wrapped in single quotes, each ' written as '\''. */
export function shq(value: string | number): string {
  const s = String(value);
  if (s.includes("\0")) throw new Error("a shell argument cannot contain a NUL byte");
  // Plain words stay readable in op records; anything else is single-quoted.
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A fragment that `cmd` inserts verbatim (already-quoted or built by `cmd` itself). */
export class RawShell {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

/** Marks trusted shell text (never inventory data) to be inserted by `cmd` without quoting. */
export const raw = (text: string): RawShell => new RawShell(text);

type Arg = string | number | RawShell | readonly (string | number)[];

/**
 * Builds a command line, quoting every interpolation: cmd`mkdir -p ${dir}` with dir = "a b" gives
 * `mkdir -p 'a b'`. Arrays become several quoted words; only `raw(...)` fragments (for example
 * `raw(cmd\`...\`)`, a command built the same way) are inserted as they are.
 */
export function cmd(strings: TemplateStringsArray, ...args: Arg[]): string {
  let out = strings[0] ?? "";
  args.forEach((a, i) => {
    const q =
      a instanceof RawShell ? a.text : Array.isArray(a) ? a.map((v) => shq(v)).join(" ") : shq(a as string | number);
    out += q + (strings[i + 1] ?? "");
  });
  return out;
}
