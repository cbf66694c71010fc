/**
 * The stack's side of yagura-issued SSH host keys (src/pki/host-keys.ts). A server's user data
 * installs its node's key, so a replaced server presents the key yagura pinned. The private keys
 * never enter the synthesized configuration: user data refers to the sensitive variable
 * `ssh_host_keys`, whose value synth writes beside the stack as a 0600 `*.auto.tfvars.json` file
 * Terraform loads by itself. The provider keeps only a hash of user data in the state.
 */
import { writeFileSync, chmodSync } from "node:fs";
import { join } from "node:path";
import { envPaths, stateRoot } from "../src/cluster/paths.js";
import { expandNodes } from "../src/cluster/spec.js";
import type { Inventory } from "../src/inventory/schema.js";
import { ensureHostKeys, type HostKey } from "../src/pki/host-keys.js";

/** The Terraform variable holding node → private host key. */
export const HOST_KEYS_VARIABLE = "ssh_host_keys";
/** The file synth writes the variable's value to, in the stack's directory (0600). */
export const HOST_KEYS_TFVARS = "ssh-host-keys.auto.tfvars.json";
/** Names the PKI directory `yagura apply` lent for the stack step (a shared state backend's copy). */
export const PKI_DIR_VAR = "YAGURA_PKI_DIR";
/** The one environment whose host keys are in {@link PKI_DIR_VAR}; other stacks use the local state. */
export const PKI_ENV_VAR = "YAGURA_PKI_ENV";

/** Where the host keys come from. */
export interface HostKeySource {
  /** yagura's state root. @default $YAGURA_STATE_DIR or .yagura */
  readonly stateRoot?: string;
  /** Environment variables naming a lent PKI directory. @default process.env */
  readonly processEnv?: NodeJS.ProcessEnv;
}

/** The PKI directory holding the issued host keys of `env`. */
export function hostKeysDir(env: string, o: HostKeySource = {}): string {
  const pe = o.processEnv ?? process.env;
  const lent = pe[PKI_DIR_VAR];
  if (lent !== undefined && pe[PKI_ENV_VAR] === undefined)
    throw new Error(`${PKI_DIR_VAR} is set without ${PKI_ENV_VAR}: set both (yagura apply does) or neither`);
  return lent !== undefined && pe[PKI_ENV_VAR] === env ? lent : envPaths(env, o.stateRoot ?? stateRoot()).pkiDir;
}

/**
 * The issued host keys of the managed nodes of `env`: created once, then read, so a server's user
 * data (and the key yagura pins) stays the same across synths and replacements.
 */
export function stackHostKeys(env: string, inventory: Inventory, o: HostKeySource = {}): Map<string, HostKey> {
  const managed = expandNodes(inventory)
    .filter((n) => n.managed)
    .map((n) => n.name);
  return ensureHostKeys(hostKeysDir(env, o), managed);
}

/** The public halves, which is all the construct tree gets. */
export function publicHostKeys(keys: ReadonlyMap<string, HostKey>): Map<string, string> {
  return new Map([...keys].map(([n, k]) => [n, k.publicKey]));
}

/** Writes the variable's value beside a synthesized stack (`stackDir` holds cdk.tf.json), 0600. */
export function writeHostKeyVars(stackDir: string, keys: ReadonlyMap<string, HostKey>): string {
  const file = join(stackDir, HOST_KEYS_TFVARS);
  const value = Object.fromEntries([...keys].map(([n, k]) => [n, k.privateKey]));
  writeFileSync(file, JSON.stringify({ [HOST_KEYS_VARIABLE]: value }, null, 2) + "\n", { mode: 0o600 });
  chmodSync(file, 0o600); // an existing file keeps its old mode through writeFileSync
  return file;
}
