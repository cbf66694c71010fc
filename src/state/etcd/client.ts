/**
 * The etcd3 client of the state store (an operator-provided etcd, not the cluster's own). Calls get a
 * deadline, so a partitioned store fails a write instead of hanging the pass.
 */
import { readFileSync } from "node:fs";
import { Etcd3 } from "etcd3";
import { UserError } from "../../cli/errors.js";
import type { StateTlsFiles } from "../location.js";

/** Per-call deadline on the state store. */
export const CALL_TIMEOUT_MS = 5000;

function readTls(what: string, flag: string, path: string | undefined): Buffer | undefined {
  if (!path) return undefined;
  try {
    return readFileSync(path);
  } catch (err) {
    throw new UserError(`cannot read the state store's ${what} ${path} (${flag}): ${(err as Error).message}`);
  }
}

/** Opens a client on `endpoints`; TLS when `tls` is given. */
export function stateClient(endpoints: readonly string[], tls?: StateTlsFiles): Etcd3 {
  const ca = readTls("CA certificate", "--state-ca", tls?.ca);
  const cert = readTls("client certificate", "--state-cert", tls?.cert);
  const key = readTls("client key", "--state-key", tls?.key);
  return new Etcd3({
    hosts: [...endpoints],
    // Without --state-ca, grpc falls back to the system's roots (createSsl with a null root).
    ...(tls ? { credentials: { rootCertificate: ca as Buffer, certChain: cert, privateKey: key } } : {}),
    dialTimeout: CALL_TIMEOUT_MS,
    defaultCallOptions: () => ({ deadline: Date.now() + CALL_TIMEOUT_MS }),
  });
}
