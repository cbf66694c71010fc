/**
 * Wires the loop to the real world for one environment: the PKI under envPaths(env).pkiDir, an
 * SSH pool with the pinned host keys (known_hosts and the keys yagura issued) (fresh per pass, so a node that came back is retried), etcd
 * admin clients with yagura's client certificate, and, when the material names an API endpoint
 * (scope all), a Kubernetes API client with the admin certificate.
 */
import { dirname, resolve } from "node:path";
import type { ClusterSpec } from "../cluster/spec.js";
import { envPaths } from "../cluster/paths.js";
import { createEtcdAdmin } from "../infra/etcd.js";
import { createKubeApi } from "../infra/kube.js";
import { createSshPool } from "../infra/ssh.js";
import type { EtcdAdmin } from "../infra/types.js";
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
}

/** The functions the loop (and plan/status) need for `spec`. */
export function session(spec: ClusterSpec, o: SessionOptions = {}) {
  const paths = envPaths(spec.env, o.stateRoot);
  const keyFile = spec.inventory.ssh?.privateKeyFile;
  const privateKeyPath = keyFile && o.inventoryFile ? resolve(dirname(o.inventoryFile), keyFile) : paths.sshKey;
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
      const shell = createSshPool({
        targets: spec.nodes.map((n) => ({
          name: n.name,
          host: n.address,
          port: spec.inventory.ssh?.port ?? 22,
          user: spec.inventory.ssh?.user ?? "root",
          ...(material.hostKeys?.has(n.name) ? { hostKeys: [material.hostKeys.get(n.name)!] } : {}),
        })),
        privateKeyPath,
        knownHostsPath: paths.knownHosts,
        connectTimeoutMs: 5000,
      });
      const admins: EtcdAdmin[] = [];
      const kube = material.kube ? createKubeApi(material.kube) : undefined;
      return {
        shell,
        ...(kube ? { kube } : {}),
        etcdAdmin(endpoints) {
          const a = createEtcdAdmin([...endpoints], material.adminTls);
          admins.push(a);
          return a;
        },
        async close() {
          await Promise.all([
            ...admins.map((a) => a.close().catch(() => undefined)),
            kube?.close().catch(() => undefined),
          ]);
          await shell.close();
        },
      };
    },
  };
}
