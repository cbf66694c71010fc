/**
 * `yagura ssh-config ENV`: an ssh_config for people, so `ssh -F <file> <node>` reaches a node with
 * the operator key and checks the same host keys yagura checks: the issued ones (written beside it
 * as `issued_known_hosts`) and those pinned by hand in `known_hosts`. Strict: an unknown key fails.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { Command } from "commander";
import type { ClusterSpec } from "../cluster/spec.js";
import { envPaths } from "../cluster/paths.js";
import { knownHostsName } from "../infra/known-hosts.js";
import { issuedHostKeys } from "../pki/host-keys.js";
import { requireClusterSpec } from "./inventory.js";
import { UserError } from "./errors.js";

/** The files `ssh-config` writes. */
export interface SshConfigFiles {
  readonly config: string;
  readonly issuedKnownHosts: string;
}

/** ssh_config quotes an argument with double quotes; a path holding one cannot be written. */
function quoted(path: string): string {
  if (/["\n]/.test(path))
    throw new UserError(
      `cannot write ${JSON.stringify(path)} into an ssh_config (it holds a quote or a newline): use a state directory without them`,
    );
  return `"${path}"`;
}

/** Writes the ssh_config and issued_known_hosts of `spec` under its state; returns their paths. */
export function writeSshConfig(
  spec: ClusterSpec,
  o: { stateRoot?: string; inventoryFile?: string } = {},
): SshConfigFiles {
  const paths = envPaths(spec.env, o.stateRoot);
  const ssh = spec.inventory.ssh;
  const port = ssh?.port ?? 22;
  const keyFile =
    ssh?.privateKeyFile && o.inventoryFile ? resolve(dirname(o.inventoryFile), ssh.privateKeyFile) : paths.sshKey;
  const issued = issuedHostKeys(
    paths.pkiDir,
    spec.nodes.map((n) => n.name),
  );
  const files = { config: join(paths.sshDir, "config"), issuedKnownHosts: join(paths.sshDir, "issued_known_hosts") };
  mkdirSync(paths.sshDir, { recursive: true, mode: 0o700 });
  const known = spec.nodes
    .filter((n) => issued.has(n.name))
    .map((n) => `${knownHostsName(n.address, port)} ${issued.get(n.name)!}`);
  writeFileSync(files.issuedKnownHosts, known.map((l) => l + "\n").join(""), { mode: 0o644 });
  const text = [
    `# yagura ${spec.env}: ssh -F ${files.config} <node>`,
    ...spec.nodes.flatMap((n) => [`Host ${n.name}`, `  HostName ${n.address}`]),
    "Host *",
    `  User ${ssh?.user ?? "root"}`,
    `  Port ${port}`,
    `  IdentityFile ${quoted(keyFile)}`,
    "  IdentitiesOnly yes",
    `  UserKnownHostsFile ${quoted(paths.knownHosts)} ${quoted(files.issuedKnownHosts)}`,
    "  GlobalKnownHostsFile /dev/null",
    "  StrictHostKeyChecking yes",
    "",
  ].join("\n");
  writeFileSync(files.config, text, { mode: 0o644 });
  return files;
}

/** Registers `ssh-config`. */
export function registerSshConfigCommand(program: Command): void {
  program
    .command("ssh-config")
    .description("write an ssh_config that reaches every node with the host keys yagura checks; print its path")
    .argument("<env>", "environment name or inventory file")
    .addHelpText(
      "after",
      "\nExample:\n  ssh -F $(yagura ssh-config prod) cp-1\n\n" +
        "Host keys: the ones yagura issued for the nodes it creates (written beside the config as\n" +
        "issued_known_hosts) and those pinned by hand in known_hosts; any other key is refused.",
    )
    .action((env: string) => {
      const s = requireClusterSpec(env, {
        inventoryDir: program.opts().inventoryDir,
        stackOutputs: program.opts().stackOutputs,
      });
      console.log(writeSshConfig(s, { inventoryFile: s.file }).config);
    });
}
