/**
 * The yagura command line: thin commands over the inventory, the lab, the planner and the loop.
 * Every command has --help with an example; errors map to the exit codes in errors.ts.
 */
import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import { describeError, EXIT } from "./errors.js";
import { requireSpec, showInventory, summarize } from "./inventory.js";
import { registerExtraCommands } from "./commands.js";

/** The version in package.json (read at run time: the sources and the build find it alike). */
export function version(): string {
  return (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string })
    .version;
}

export function buildProgram(): Command {
  const program = new Command("yagura")
    .version(version(), "-V, --version", "print the version and exit")
    .description(
      "Kubernetes on OpenStack. CDKTF stacks create the nodes (cdktf deploy <env>); " +
        "yagura bootstraps and repairs the cluster over SSH, etcd and the Kubernetes API.\n\n" +
        "ENV is the name of a file under inventory/ (lab, example) or a path to an inventory YAML file.",
    )
    .option("--inventory-dir <dir>", "directory that holds the environments", undefined)
    .option(
      "--stack-outputs <file>",
      "outputs of the environment's stack (terraform output -json or cdktf --outputs-file); default: its local state",
    )
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();

  program
    .command("validate")
    .description("check an inventory: every problem with file:line:column and what to change")
    .argument("<env>", "environment name or inventory file")
    .addHelpText(
      "after",
      "\nExamples:\n  yagura validate lab\n  yagura validate ./my-env.yaml\n\nExit 0 when valid, 1 when not.",
    )
    .action((env: string) => {
      const spec = requireSpec(env, program.opts().inventoryDir);
      console.log(summarize(spec));
    });

  const inventory = program.command("inventory").description("inspect inventories");
  inventory
    .command("show")
    .description("print the normalised inventory (defaults filled in) and the expanded node list")
    .argument("<env>", "environment name or inventory file")
    .option("--json", "print JSON instead of YAML")
    .addHelpText("after", "\nExample:\n  yagura inventory show example --json | jq '.nodes[].name'")
    .action((env: string, opts: { json?: boolean }) => {
      const spec = requireSpec(env, program.opts().inventoryDir);
      process.stdout.write(showInventory(spec, Boolean(opts.json)) + "\n");
    });

  registerExtraCommands(program);
  return program;
}

/** Runs the CLI and returns the exit code (never throws). */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: "user" });
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    const { code, lines } = describeError(err);
    for (const l of lines) if (l) console.error(l);
    return code;
  }
}

if (process.argv[1] && /yagura(\.mjs)?$|cli[\\/]main\.ts$/.test(process.argv[1])) {
  // Whatever escapes main (a callback's throw, a promise no one awaited) is a bug too: reported
  // as one, with the .ts lines, instead of Node's default print of the build's frames.
  process.on("uncaughtException", (err) => {
    for (const l of describeError(err).lines) if (l) console.error(l);
    process.exit(EXIT.internal);
  });
  process.exitCode = await main(process.argv.slice(2));
}
