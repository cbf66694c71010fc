/**
 * Where the state lives, from `--state` (or $YAGURA_STATE): `local` (the default) or
 * `etcd://host:port[,host:port…][?ttl=15s&prefix=/yagura]`. TLS files come from --state-ca,
 * --state-cert, --state-key (or $YAGURA_STATE_CA, $YAGURA_STATE_CERT, $YAGURA_STATE_TLS_KEY);
 * with any of them the connection is TLS, otherwise plaintext.
 */
import { UserError } from "../cli/errors.js";
import { parseDuration } from "../inventory/rules/syntax.js";

/** Default lease of the etcd leadership, in seconds. */
export const DEFAULT_TTL_S = 15;

/** TLS files for the state etcd (paths). */
export interface StateTlsFiles {
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
}

/** The parsed location. */
export type StateLocation =
  | { readonly kind: "local" }
  | {
      readonly kind: "etcd";
      /** `https://host:port` (TLS) or `http://host:port`. */
      readonly endpoints: readonly string[];
      readonly ttlSeconds: number;
      /** Key prefix, no trailing slash. */
      readonly prefix: string;
      readonly tls?: StateTlsFiles;
      /** The URL as given, for messages. */
      readonly url: string;
    };

const HOST_PORT = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;
const EXAMPLE = "etcd://10.0.0.5:2379,10.0.0.6:2379?ttl=15s";

/** Parses `url` (undefined: $YAGURA_STATE, else local) and the TLS flags; UserError on a mistake. */
export function parseStateLocation(
  url: string | undefined,
  tlsFlags: StateTlsFiles = {},
  env: NodeJS.ProcessEnv = process.env,
): StateLocation {
  const u = (url ?? env.YAGURA_STATE ?? "local").trim();
  if (u === "local") return { kind: "local" };
  const m = /^etcd:\/\/([^/?]+)\/?(\?.*)?$/.exec(u);
  if (!m) throw new UserError(`--state must be "local" or an etcd URL such as ${EXAMPLE}, not ${JSON.stringify(u)}`);
  const tls: StateTlsFiles = {
    ca: tlsFlags.ca ?? env.YAGURA_STATE_CA,
    cert: tlsFlags.cert ?? env.YAGURA_STATE_CERT,
    key: tlsFlags.key ?? env.YAGURA_STATE_TLS_KEY,
  };
  const useTls = Boolean(tls.ca || tls.cert || tls.key);
  if (Boolean(tls.cert) !== Boolean(tls.key))
    throw new UserError(
      "--state-cert and --state-key go together (a client certificate and its key); give both or neither",
    );
  const endpoints = m[1]!.split(",").map((hp) => {
    const x = HOST_PORT.exec(hp.trim());
    if (!x || Number(x[2]) < 1 || Number(x[2]) > 65535)
      throw new UserError(`--state: ${JSON.stringify(hp)} is not host:port; write it as ${EXAMPLE}`);
    return `${useTls ? "https" : "http"}://${x[1]}:${x[2]}`;
  });
  const q = new URLSearchParams(m[2]?.slice(1) ?? "");
  let ttlSeconds = DEFAULT_TTL_S;
  let prefix = "/yagura";
  for (const [k, v] of q) {
    if (k === "ttl") {
      const ms = parseDuration(v);
      if (ms === undefined || ms < 2000 || ms % 1000 !== 0)
        throw new UserError(`--state: ttl=${v} must be whole seconds of at least 2s, such as ttl=15s`);
      ttlSeconds = ms / 1000;
    } else if (k === "prefix") {
      if (!/^(\/[A-Za-z0-9._-]+)+$/.test(v))
        throw new UserError(`--state: prefix=${v} must look like /yagura or /team/yagura`);
      prefix = v;
    } else throw new UserError(`--state: unknown option ${k}= (known: ttl, prefix)`);
  }
  return { kind: "etcd", endpoints, ttlSeconds, prefix, url: u, ...(useTls ? { tls } : {}) };
}

/** The keys of one environment under `prefix`. */
export function stateKeys(prefix: string, env: string) {
  const base = `${prefix}/${env}`;
  return {
    leader: `${base}/leader`,
    records: `${base}/records/`,
    secrets: `${base}/secrets/`,
    journal: `${base}/journal/`,
    documents: `${base}/documents/`,
  } as const;
}
