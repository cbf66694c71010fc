/**
 * `yagura completion bash|zsh`: a shell completion script generated from the command tree at run
 * time (commands, subcommands, options, which options take a value, positional arguments), so it
 * cannot drift from the commands. `<env>` arguments complete to the inventory files' names.
 */
import { Argument, type Command } from "commander";
import { DEFAULT_INVENTORY_DIR } from "../inventory/load.js";

/** One command of the tree, by its path of names from the program (the program itself: []). */
export interface CompletionEntry {
  readonly path: readonly string[];
  readonly subcommands: readonly string[];
  readonly options: readonly string[];
  /** Options that take a value: the word after them is that value, not a command or argument. */
  readonly valued: readonly string[];
  readonly args: readonly string[];
  /** The values an option or argument accepts, by its flag or name, where commander knows them. */
  readonly choices: Readonly<Record<string, readonly string[]>>;
}

/** Every command of the program with what completes after it, depth first. */
export function completionTree(program: Command): CompletionEntry[] {
  const help = program.createHelp();
  const out: CompletionEntry[] = [];
  const walk = (cmd: Command, path: string[]) => {
    const options = help.visibleOptions(cmd);
    const subs = help.visibleCommands(cmd);
    out.push({
      path,
      subcommands: subs.flatMap((c) => [c.name(), ...c.aliases()]),
      options: options.flatMap((o) => [o.short, o.long].filter((f): f is string => Boolean(f))),
      valued: options
        .filter((o) => o.required || o.optional)
        .flatMap((o) => [o.short, o.long].filter((f): f is string => Boolean(f))),
      args: cmd.registeredArguments.map((a) => a.name()),
      choices: Object.fromEntries(
        [
          ...options.flatMap((o) => [o.short, o.long].filter(Boolean).map((f) => [f, o.argChoices ?? []] as const)),
          ...cmd.registeredArguments.map((a) => [a.name(), a.argChoices ?? []] as const),
        ].filter(([, c]) => c.length > 0),
      ),
    });
    // commander's implicit `help` command is listed but has no Command object to walk
    for (const c of cmd.commands) walk(c, [...path, c.name()]);
  };
  walk(program, []);
  return out;
}

/** A word as a single-quoted shell string (names come from our own tree, but quote anyway). */
const q = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/** The shell functions both scripts share: the tree as `case` tables, and the walk over the words. */
function tables(tree: readonly CompletionEntry[], inventoryDir: string, shell: "bash" | "zsh"): string {
  // zsh splits an unquoted $REPLY only with shwordsplit, and fails a glob that matches nothing
  const local = shell === "zsh" ? ["  setopt localoptions shwordsplit nullglob"] : [];
  const key = (e: CompletionEntry) => q(e.path.join(" "));
  const table = (name: string, what: string, value: (e: CompletionEntry) => readonly string[]) =>
    [
      `# ${what}`,
      `${name}() {`,
      '  case "$1" in',
      ...tree.filter((e) => value(e).length > 0).map((e) => `    ${key(e)}) REPLY=${q(value(e).join(" "))} ;;`),
      "    *) REPLY='' ;;",
      "  esac",
      "}",
    ].join("\n");
  const choices = tree.flatMap((e) =>
    Object.entries(e.choices).map(([k, c]) => `    ${q(`${e.path.join(" ")}|${k}`)}) REPLY=${q(c.join(" "))} ;;`),
  );
  const valued = tree.flatMap((e) => e.valued.map((o) => q(`${e.path.join(" ")}|${o}`)));
  return [
    table("_yagura_cmds", "subcommands of a command path", (e) => e.subcommands),
    table("_yagura_opts", "options of a command path", (e) => e.options),
    table("_yagura_args", "positional arguments of a command path", (e) => e.args),
    "# the values an option or argument accepts, as '<command path>|<option or argument>'",
    "_yagura_choices() {",
    '  case "$1" in',
    ...choices,
    "    *) REPLY='' ;;",
    "  esac",
    "}",
    "# options that take a value, as '<command path>|<option>'",
    "_yagura_valued() {",
    '  case "$1" in',
    `    ${valued.join("|") || "''"}) return 0 ;;`,
    "  esac",
    "  return 1",
    "}",
    "# environment names: the inventory files in --inventory-dir, else in yagura's own inventory/",
    "_yagura_envs() {",
    `  local dir=\${_yagura_invdir:-${q(inventoryDir)}} f`,
    ...local,
    "  REPLY=''",
    '  for f in "$dir"/*.yaml; do',
    '    [ -e "$f" ] || continue',
    "    f=${f##*/}",
    '    REPLY="$REPLY ${f%.yaml}"',
    "  done",
    "}",
    "# walks the words before the cursor: the command path, the positional arguments so far, and the",
    "# option whose value is being completed (if any)",
    "_yagura_walk() {",
    ...local,
    "  _yagura_path='' _yagura_npos=0 _yagura_pending='' _yagura_invdir=''",
    "  local w",
    '  for w in "$@"; do',
    '    if [ -n "$_yagura_pending" ]; then',
    '      [ "$_yagura_pending" = --inventory-dir ] && _yagura_invdir=$w',
    "      _yagura_pending=''",
    "      continue",
    "    fi",
    '    case "$w" in',
    "      --inventory-dir=*) _yagura_invdir=${w#*=} ;;",
    "      --*=*) ;;",
    "      -*)",
    '        if _yagura_valued "$_yagura_path|$w" || _yagura_valued "|$w"; then _yagura_pending=$w; fi',
    "        ;;",
    "      *)",
    '        _yagura_cmds "$_yagura_path"',
    '        case " $REPLY " in',
    '          *" $w "*) _yagura_path=${_yagura_path:+$_yagura_path }$w _yagura_npos=0 ;;',
    "          *) _yagura_npos=$((_yagura_npos + 1)) ;;",
    "        esac",
    "        ;;",
    "    esac",
    "  done",
    "  # the name of the positional argument at the cursor, if the command takes one there",
    "  _yagura_arg=''",
    '  _yagura_args "$_yagura_path"',
    "  local i=0",
    "  for w in $REPLY; do",
    '    [ "$i" = "$_yagura_npos" ] && _yagura_arg=$w',
    "    i=$((i + 1))",
    "  done",
    "}",
  ].join("\n");
}

/** The bash completion script: `source <(yagura completion bash)`. */
export function bashScript(program: Command, inventoryDir = DEFAULT_INVENTORY_DIR): string {
  return [
    `# bash completion for ${program.name()}, generated from its commands by \`${program.name()} completion bash\`.`,
    "# Install: source <(yagura completion bash)   (e.g. in ~/.bashrc), or write it to",
    "# /etc/bash_completion.d/yagura. Generate it again after upgrading yagura.",
    "# shellcheck shell=bash disable=SC2034",
    tables(completionTree(program), inventoryDir, "bash"),
    "_yagura() {",
    "  local cur=${COMP_WORDS[COMP_CWORD]} REPLY",
    '  _yagura_walk "${COMP_WORDS[@]:1:COMP_CWORD-1}"',
    "  COMPREPLY=()",
    '  if [ -n "$_yagura_pending" ]; then',
    '    _yagura_choices "$_yagura_path|$_yagura_pending"',
    '    if [ -n "$REPLY" ]; then',
    '      mapfile -t COMPREPLY < <(compgen -W "$REPLY" -- "$cur")',
    "      return 0",
    "    fi",
    "    compopt -o filenames 2>/dev/null",
    '    if [ "$_yagura_pending" = --inventory-dir ]; then',
    '      mapfile -t COMPREPLY < <(compgen -d -- "$cur")',
    "    else",
    '      mapfile -t COMPREPLY < <(compgen -f -- "$cur")',
    "    fi",
    "    return 0",
    "  fi",
    "  if [[ $cur == -* ]]; then",
    '    _yagura_opts "$_yagura_path"',
    '    mapfile -t COMPREPLY < <(compgen -W "$REPLY" -- "$cur")',
    "    return 0",
    "  fi",
    '  _yagura_cmds "$_yagura_path"',
    '  if [ -n "$REPLY" ] && [ "$_yagura_npos" = 0 ]; then',
    '    mapfile -t COMPREPLY < <(compgen -W "$REPLY" -- "$cur")',
    "    return 0",
    "  fi",
    '  _yagura_choices "$_yagura_path|$_yagura_arg"',
    '  if [ -n "$_yagura_arg" ] && [ -n "$REPLY" ]; then',
    '    mapfile -t COMPREPLY < <(compgen -W "$REPLY" -- "$cur")',
    "    return 0",
    "  fi",
    '  if [ "$_yagura_arg" = env ]; then',
    "    _yagura_envs",
    '    mapfile -t COMPREPLY < <(compgen -W "$REPLY" -- "$cur")',
    "  fi",
    '  if [ -n "$_yagura_arg" ]; then',
    "    compopt -o filenames 2>/dev/null",
    '    mapfile -t -O "${#COMPREPLY[@]}" COMPREPLY < <(compgen -f -- "$cur")',
    "  fi",
    "  return 0",
    "}",
    "complete -F _yagura yagura yagura.mjs",
    "",
  ].join("\n");
}

/** The zsh completion script: `source <(yagura completion zsh)` after compinit, or `_yagura` in $fpath. */
export function zshScript(program: Command, inventoryDir = DEFAULT_INVENTORY_DIR): string {
  return [
    "#compdef yagura yagura.mjs",
    `# zsh completion for ${program.name()}, generated from its commands by \`${program.name()} completion zsh\`.`,
    "# Install: source <(yagura completion zsh)   (after compinit, e.g. in ~/.zshrc), or write it as",
    "# _yagura into a directory of $fpath. Generate it again after upgrading yagura.",
    tables(completionTree(program), inventoryDir, "zsh"),
    "_yagura() {",
    "  local cur=${words[CURRENT]} REPLY",
    '  _yagura_walk "${(@)words[2,CURRENT-1]}"',
    "  if [[ -n $_yagura_pending ]]; then",
    '    _yagura_choices "$_yagura_path|$_yagura_pending"',
    "    if [[ -n $REPLY ]]; then compadd -- ${=REPLY}",
    "    elif [[ $_yagura_pending == --inventory-dir ]]; then _files -/",
    "    else _files",
    "    fi",
    "    return",
    "  fi",
    "  if [[ $cur == -* ]]; then",
    '    _yagura_opts "$_yagura_path"',
    "    compadd -- ${=REPLY}",
    "    return",
    "  fi",
    '  _yagura_cmds "$_yagura_path"',
    "  if [[ -n $REPLY && $_yagura_npos == 0 ]]; then",
    "    compadd -- ${=REPLY}",
    "    return",
    "  fi",
    '  _yagura_choices "$_yagura_path|$_yagura_arg"',
    "  if [[ -n $_yagura_arg && -n $REPLY ]]; then",
    "    compadd -- ${=REPLY}",
    "    return",
    "  fi",
    "  if [[ $_yagura_arg == env ]]; then",
    "    _yagura_envs",
    "    compadd -- ${=REPLY}",
    "  fi",
    "  [[ -n $_yagura_arg ]] && _files",
    "}",
    'if [[ "${funcstack[1]}" == _yagura ]]; then',
    '  _yagura "$@"',
    "else",
    "  compdef _yagura yagura yagura.mjs",
    "fi",
    "",
  ].join("\n");
}

/** Adds `completion`. */
export function registerCompletionCommand(program: Command): void {
  program
    .command("completion")
    .description("print a bash or zsh completion script for yagura's commands, options and environments")
    .addArgument(new Argument("<shell>", "bash or zsh").choices(["bash", "zsh"]))
    .addHelpText(
      "after",
      "\nInstall:\n" +
        "  bash: source <(yagura completion bash)                  # in ~/.bashrc\n" +
        "        yagura completion bash > /etc/bash_completion.d/yagura\n" +
        "  zsh:  source <(yagura completion zsh)                   # in ~/.zshrc, after compinit\n" +
        '        yagura completion zsh > "${fpath[1]}/_yagura"\n\n' +
        "The script is generated from the commands of this yagura: generate it again after an upgrade.\n" +
        "<env> arguments complete to the inventory files' names (--inventory-dir, else yagura's inventory/).",
    )
    .action((shell: string) => {
      process.stdout.write(shell === "zsh" ? zshScript(program) : bashScript(program));
    });
}
