/** Registers the commands of the other domains (lab, reconcile, …) on the program. */
import type { Command } from "commander";

/** Each domain adds its commands here, keeping main.ts small. */
export function registerExtraCommands(_program: Command): void {}
