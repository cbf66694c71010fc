/**
 * A node's own files, written into its overlay upper dirs before it starts: what a node image plus
 * first-boot would give a real machine (hostname, resolver, sshd with its own host key, runit's sshd
 * service, the container runtime's configuration).
 */
import { randomUUID } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { HostKey } from "../pki/host-keys.js";
import { PAUSE_IMAGE_PATH } from "./containerd.js";

/** The writable host trees each node sees through an overlay. */
export const OVERLAY_DIRS = ["etc", "var", "usr", "opt", "root", "home"] as const;

/** What a node's tree is made from. */
export interface NodeTreeInput {
  readonly name: string;
  readonly address: string;
  /** The node's tree (upper/, work/, data/). */
  readonly dir: string;
  /** The operator's public key line, installed as the only authorized key. */
  readonly operatorPublicKey: string;
  /** The node's yagura-issued host key, installed as sshd's only host key (as cloud-init does). */
  readonly hostKey: HostKey;
  /** The pause image tarball to place on the node, if the lab built one. */
  readonly pauseImage?: string;
}

/** A file in a node's view: absolute path on the node, content and mode. */
export interface NodeFile {
  readonly path: string;
  readonly content: string | Buffer;
  readonly mode: number;
}

function sshdConfig(address: string): string {
  return [
    `ListenAddress ${address}`,
    "HostKey /etc/ssh/ssh_host_ed25519_key",
    "PermitRootLogin prohibit-password",
    "PubkeyAuthentication yes",
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "UsePAM no",
    "AuthorizedKeysFile /etc/ssh/authorized_keys",
    "PidFile /run/sshd.pid",
    "UseDNS no",
    // Reconcilers open many sessions at once; the default 10:30:100 drops some.
    "MaxStartups 200:30:400",
    "MaxSessions 64",
    "Subsystem sftp /usr/lib/openssh/sftp-server",
    "",
  ].join("\n");
}

/** The files a fresh node needs (besides its host key). */
export function nodeFiles(input: NodeTreeInput): NodeFile[] {
  const plain = "# yagura lab node: a plain root shell (the host's rc files would slow every ssh command)\n";
  return [
    { path: "/etc/hostname", content: `${input.name}\n`, mode: 0o644 },
    { path: "/etc/hosts", content: `127.0.0.1 localhost\n${input.address} ${input.name}\n`, mode: 0o644 },
    // No DNS query leaves the node.
    { path: "/etc/resolv.conf", content: "nameserver 127.0.0.1\n", mode: 0o644 },
    // kubelet and cadvisor read it; each node needs its own.
    { path: "/etc/machine-id", content: randomUUID().replace(/-/g, "") + "\n", mode: 0o444 },
    { path: "/etc/ssh/sshd_config", content: sshdConfig(input.address), mode: 0o644 },
    { path: "/etc/ssh/authorized_keys", content: input.operatorPublicKey.trim() + "\n", mode: 0o600 },
    { path: "/etc/ssh/ssh_host_ed25519_key", content: input.hostKey.privateKey, mode: 0o600 },
    { path: "/etc/ssh/ssh_host_ed25519_key.pub", content: input.hostKey.publicKey + "\n", mode: 0o644 },
    {
      path: "/etc/service/sshd/run",
      content: "#!/bin/sh\nexec /usr/sbin/sshd -D -e -f /etc/ssh/sshd_config 2>&1\n",
      mode: 0o755,
    },
    { path: "/root/.bashrc", content: plain, mode: 0o644 },
    { path: "/root/.profile", content: plain, mode: 0o644 },
  ];
}

/** Directories every node starts with (empty). */
const NODE_DIRS = ["/etc/kubernetes", "/etc/yagura/sv", "/var/lib/etcd", "/var/log", "/root/.ssh"];

/** The upper-dir path of a node path (`/etc/x` → `<dir>/upper/etc/x`). */
export function upperPath(dir: string, nodePath: string): string {
  return join(dir, "upper", nodePath);
}

/** Creates the node's tree and writes its files and issued host key; returns the host public key line. */
export async function writeNodeTree(input: NodeTreeInput): Promise<string> {
  const { dir } = input;
  for (const d of OVERLAY_DIRS) {
    mkdirSync(join(dir, "upper", d), { recursive: true });
    mkdirSync(join(dir, "work", d), { recursive: true });
  }
  mkdirSync(join(dir, "data", "containerd"), { recursive: true });
  for (const d of NODE_DIRS) mkdirSync(upperPath(dir, d), { recursive: true });
  for (const f of nodeFiles(input)) {
    const p = upperPath(dir, f.path);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, f.content, { mode: f.mode });
    chmodSync(p, f.mode);
  }
  if (input.pauseImage) {
    const p = upperPath(dir, PAUSE_IMAGE_PATH);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, readFileSync(input.pauseImage), { mode: 0o644 });
  }
  const [type, b64] = input.hostKey.publicKey.split(/\s+/);
  return `${type} ${b64}`;
}
