/**
 * The --state flags every command that touches an environment's state shares. Apart from
 * state/cli.ts so registering a command loads no state backend (and no etcd client).
 */
import { Option, type Command } from "commander";
import { STATE_KEY_VAR } from "./crypto.js";

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
