/**
 * Registers the commands of the other domains (lab, reconcile, …) on the program. Every command
 * module is loaded on every run, `--version` included: keep its top level to commander, the
 * inventory and type-only imports, and `await import()` the heavy libraries (Kubernetes client, etcd,
 * SSH, CDKTF, x509, handlebars, prom-client) inside the action (scripts/build.mjs lists what start-up loads).
 */
import type { Command } from "commander";
import { registerLabCommands } from "./lab.js";
import { registerReconcileCommands } from "./reconcile.js";
import { registerEtcdCommands } from "./etcd.js";
import { registerDriftCommand } from "./drift.js";
import { registerRebuildCommands } from "./rebuild.js";
import { registerKubeconfigCommand } from "./kubeconfig.js";
import { registerRenderCommand } from "./render.js";
import { registerSshConfigCommand } from "./ssh-config.js";
import { registerServiceCommands } from "./service.js";
import { registerCompletionCommand } from "./completion.js";

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
  registerServiceCommands(program);
  registerCompletionCommand(program);
}
