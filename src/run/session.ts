/**
 * Wires the loop to the real world for one environment: the PKI under envPaths(env).pkiDir, an
 * SSH pool with the pinned host keys (known_hosts and the keys yagura issued), etcd admin clients
 * with yagura's client certificate, and, when the material names an API endpoint (scope all), a
 * Kubernetes API client with the admin certificate.
 *
 * The SSH connections outlive a pass: a pass that ends with `release()` leaves them open for the
 * next one (its nodes set again from the spec and the issued keys, a node that failed to connect
 * tried again); `close()` closes them. A watch lends its own pool (`ssh`), which the session never
 * closes, so the connections last from watch pass to watch pass.
 */
import { dirname, resolve } from "node:path";
import type { ClusterSpec } from "../cluster/spec.js";
import { envPaths } from "../cluster/paths.js";
import { createEtcdAdmin } from "../infra/etcd.js";
import { createKubeApi } from "../infra/kube.js";
import { createSshPool, type SshPool } from "../infra/ssh.js";
import type { EtcdAdmin, SshTarget } from "../infra/types.js";
import { prepareMaterial, type Material } from "./material.js";
import type { PassIO } from "./loop.js";

/** Options for the connections of a pass. */
export interface SessionOptions {
  readonly stateRoot?: string;
  /** The inventory file (for a relative ssh.privateKeyFile). */
  readonly inventoryFile?: string;
  /** How far up the ladder: scope etcd prepares no Kubernetes material. @default "all" */
  readonly scope?: "etcd" | "all";
  /** Lends the PKI directory for the preparation (a state backend's). @default envPaths(env).pkiDir in place */
  readonly withPki?: <T>(fn: (dir: string) => Promise<T>) => Promise<T>;
  /** SSH connections kept beyond this session (a watch's, from pass to pass); the session never closes them. */
  readonly ssh?: SshKeeper;
}

/** Creates the SSH pool of a session; its nodes are set by each pass. */
const newPool = (privateKeyPath: string, knownHostsPath: string) =>
  createSshPool({ targets: [], privateKeyPath, knownHostsPath, connectTimeoutMs: 5000 });

/** One SSH pool kept across sessions: a watch makes one session per pass and keeps its connections. */
export interface SshKeeper {
  /** The kept pool; a new one (the old one closed) when the operator key or known_hosts path changed. */
  pool(privateKeyPath: string, knownHostsPath: string): SshPool;
  /** SSH commands run and connections attempted over every node since the keeper was made. */
  counts(): { commands: number; connects: number };
  close(): Promise<void>;
}

/** Creates an SshKeeper; close it when the watch ends. */
export function sshKeeper(): SshKeeper {
  let held: { pool: SshPool; files: string } | undefined;
  const sum = (m: ReadonlyMap<string, number> | undefined) => [...(m?.values() ?? [])].reduce((a, b) => a + b, 0);
  const counts = () => ({ commands: sum(held?.pool.roundTrips), connects: sum(held?.pool.connects) });
  let retired = { commands: 0, connects: 0 };
  return {
    pool(privateKeyPath, knownHostsPath) {
      const files = JSON.stringify([privateKeyPath, knownHostsPath]);
      if (held?.files !== files) {
        const c = counts();
        retired = { commands: retired.commands + c.commands, connects: retired.connects + c.connects };
        void held?.pool.close();
        held = { pool: newPool(privateKeyPath, knownHostsPath), files };
      }
      return held.pool;
    },
    counts() {
      const c = counts();
      return { commands: retired.commands + c.commands, connects: retired.connects + c.connects };
    },
    async close() {
      const h = held;
      held = undefined;
      await h?.pool.close();
    },
  };
}

/** The functions the loop (and plan/status) need for `spec`. */
export function session(spec: ClusterSpec, o: SessionOptions = {}) {
  const paths = envPaths(spec.env, o.stateRoot);
  const keyFile = spec.inventory.ssh?.privateKeyFile;
  const privateKeyPath = keyFile && o.inventoryFile ? resolve(dirname(o.inventoryFile), keyFile) : paths.sshKey;
  /** The session's own pool, kept from a released pass to the next and closed with the last. */
  let own: SshPool | undefined;
  const targets = (material: Material): SshTarget[] =>
    spec.nodes.map((n) => ({
      name: n.name,
      host: n.address,
      port: spec.inventory.ssh?.port ?? 22,
      user: spec.inventory.ssh?.user ?? "root",
      ...(material.hostKeys?.has(n.name) ? { hostKeys: [material.hostKeys.get(n.name)!] } : {}),
    }));
  return {
    paths,
    prepare: (now: Date): Promise<Material> =>
      (o.withPki ?? ((fn) => fn(paths.pkiDir)))((dir) =>
        prepareMaterial(spec, dir, now, {
          scope: o.scope ?? "all",
          ...(o.inventoryFile ? { inventoryFile: o.inventoryFile } : {}),
          ...(spec.apiEndpoint !== undefined ? { apiEndpoint: spec.apiEndpoint } : {}),
        }),
      ),
    open(material: Material): PassIO {
      const shell = o.ssh
        ? o.ssh.pool(privateKeyPath, paths.knownHosts)
        : (own ??= newPool(privateKeyPath, paths.knownHosts));
      shell.setTargets(targets(material));
      shell.beginPass();
      const admins: EtcdAdmin[] = [];
      const kube = material.kube ? createKubeApi(material.kube) : undefined;
      const closeClients = () =>
        Promise.all([...admins.map((a) => a.close().catch(() => undefined)), kube?.close().catch(() => undefined)]);
      return {
        shell,
        ...(kube ? { kube } : {}),
        etcdAdmin(endpoints) {
          const a = createEtcdAdmin([...endpoints], material.adminTls);
          admins.push(a);
          return a;
        },
        async release() {
          await closeClients();
        },
        async close() {
          await closeClients();
          if (own === shell) {
            own = undefined;
            await shell.close();
          }
        },
      };
    },
  };
}
