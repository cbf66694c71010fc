/**
 * The command-line side of the state backends: the --state flags every command that touches an
 * environment's state shares, and holding an environment for a reconcile (standing by, for a
 * watch on a shared store, until this instance leads it).
 */
import { Option, type Command } from "commander";
import { STATE_KEY_VAR } from "./crypto.js";
import { openStateBackend } from "./index.js";
import type { StateBackend, StateHolder } from "./types.js";

/** The --state flags as commander parses them. */
export interface StateFlags {
  state?: string;
  stateCa?: string;
  stateCert?: string;
  stateKey?: string;
}

/** Help text for the --state flags. */
export const STATE_HELP =
  "\nState (--state, default $YAGURA_STATE or local):\n" +
  "  local                 .yagura/<env>/ on this machine ($YAGURA_STATE_DIR): lock file, records, PKI\n" +
  "  etcd://h:p[,h:p]      a shared etcd: one leader per environment (lease, default ttl 15s), records\n" +
  `                        and the PKI fenced by the leader key; the PKI sealed with $${STATE_KEY_VAR}\n` +
  "                        (32 bytes base64: openssl rand -base64 32); options ?ttl=15s&prefix=/yagura\n" +
  "  e.g. YAGURA_STATE_KEY=… yagura reconcile prod --watch \\\n" +
  "         --state etcd://10.0.0.5:2379,10.0.0.6:2379 --state-ca ca.crt --state-cert me.crt --state-key me.key\n";

/** Adds --state, --state-ca, --state-cert and --state-key to `cmd`. */
export function withStateOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option("--state <url>", "where the environment's state lives: local or etcd://host:port[,host:port]"),
    )
    .addOption(new Option("--state-ca <file>", "CA certificate of the state etcd ($YAGURA_STATE_CA)"))
    .addOption(new Option("--state-cert <file>", "client certificate for the state etcd ($YAGURA_STATE_CERT)"))
    .addOption(
      new Option(
        "--state-key <file>",
        `client TLS key for the state etcd ($YAGURA_STATE_TLS_KEY); the PKI's sealing key is $${STATE_KEY_VAR}, never a flag`,
      ),
    );
}

/** Opens the backend the flags name for `env`. */
export function stateFromFlags(env: string, o: StateFlags): StateBackend {
  return openStateBackend(env, o.state, { ca: o.stateCa, cert: o.stateCert, key: o.stateKey });
}

/** The environment held for a reconcile; the holder changes when a watch leads again after losing it. */
export interface HeldEnvironment {
  current(): StateHolder;
  /** Gives up the lost lead and stands by until leading again (a watch on a shared store). */
  regain(signal: AbortSignal): Promise<StateHolder>;
  /** Gives the lead up and closes the store. */
  close(): Promise<void>;
}

/**
 * Takes the environment's lock: waits `waitMs`, or with `standBy` until this instance leads (a
 * SIGTERM/SIGINT meanwhile resolves undefined). Prints who held it before, if anyone.
 */
export async function holdEnvironment(
  backend: StateBackend,
  o: { waitMs: number; standBy: boolean; log(line: string): void },
): Promise<HeldEnvironment | undefined> {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  if (o.standBy) process.once("SIGTERM", onSignal).once("SIGINT", onSignal);
  let holder: StateHolder;
  try {
    holder = await backend.acquire({ waitMs: o.standBy ? Infinity : o.waitMs, signal: stop.signal, log: o.log });
  } catch (err) {
    await backend.close();
    if (stop.signal.aborted) return undefined;
    throw err;
  } finally {
    process.off("SIGTERM", onSignal).off("SIGINT", onSignal);
  }
  const announce = (h: StateHolder) => {
    if (h.takeover) o.log(h.takeover);
    else if (backend.describe !== "local") o.log(`leading ${backend.describe} with token ${h.token}`);
  };
  announce(holder);
  return {
    current: () => holder,
    async regain(signal) {
      await holder.close();
      holder = await backend.acquire({ waitMs: Infinity, signal, log: o.log });
      announce(holder);
      return holder;
    },
    async close() {
      await holder.close();
      await backend.close();
    },
  };
}
