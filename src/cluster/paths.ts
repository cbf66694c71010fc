/**
 * Where yagura keeps an environment's local state, and where things live on a node. One place so
 * the lab, the PKI, the SSH layer and the loop agree.
 *
 *   <state>/<env>/ssh/id_ed25519       operator key (0600)   ssh/known_hosts   pinned host keys
 *   <state>/<env>/pki/                 CAs, certificates, keys (0600)
 *   <state>/<env>/records.jsonl        one line per op run   lock              the environment lock
 *   <state>/<env>/lab/                 the lab's runtime (node trees, pids) when the env is a lab
 *
 * <state> is $YAGURA_STATE_DIR, else `.yagura` in the current directory.
 */
import { join, resolve } from "node:path";

/** Root of all environments' state. */
export function stateRoot(): string {
  return resolve(process.env.YAGURA_STATE_DIR ?? ".yagura");
}

/** Paths of one environment's local state. */
export function envPaths(env: string, root = stateRoot()) {
  const dir = join(root, env);
  return {
    dir,
    sshDir: join(dir, "ssh"),
    sshKey: join(dir, "ssh", "id_ed25519"),
    knownHosts: join(dir, "ssh", "known_hosts"),
    pkiDir: join(dir, "pki"),
    records: join(dir, "records.jsonl"),
    lock: join(dir, "lock"),
    labDir: join(dir, "lab"),
    kubeconfig: join(dir, "admin.kubeconfig"),
  } as const;
}

/** Paths on a node (identical on lab nodes and real machines). */
export const NODE_PATHS = {
  /** yagura's own files on the node: fingerprints, service definitions. */
  yaguraDir: "/etc/yagura",
  /** Service definitions for runit (linked into runitServiceDir). */
  runitDefs: "/etc/yagura/sv",
  /** Directory runsvdir scans. */
  runitServiceDir: "/etc/service",
  /** systemd units written by yagura. */
  systemdDir: "/etc/systemd/system",
  kubernetesDir: "/etc/kubernetes",
  pkiDir: "/etc/kubernetes/pki",
  etcdPkiDir: "/etc/kubernetes/pki/etcd",
  etcdDataDir: "/var/lib/etcd",
  logDir: "/var/log",
} as const;
