/** Registers the commands of the other domains (lab, reconcile, …) on the program. */
import type { Command } from "commander";
import { registerLabCommands } from "./lab.js";
import { registerReconcileCommands } from "./reconcile.js";
import { registerEtcdCommands } from "./etcd.js";
import { registerDriftCommand } from "./drift.js";
import { registerRebuildCommands } from "./rebuild.js";
import { registerKubeconfigCommand } from "./kubeconfig.js";
import { registerRenderCommand } from "./render.js";
import { registerSshConfigCommand } from "./ssh-config.js";

/** Each domain adds its commands here, keeping main.ts small. */
export function registerExtraCommands(program: Command): void {
  registerLabCommands(program);
  registerReconcileCommands(program);
  registerEtcdCommands(program);
  registerDriftCommand(program);
  registerRebuildCommands(program);
  registerKubeconfigCommand(program);
  registerRenderCommand(program);
  registerSshConfigCommand(program);
}
