/** The state backends and how one is chosen from `--state`. */
import { etcdBackend } from "./etcd/backend.js";
import { localBackend } from "./local.js";
import { parseStateLocation, type StateTlsFiles } from "./location.js";
import type { StateBackend } from "./types.js";

export { LostLeadershipError, type StateBackend, type StateHolder, type WithPki } from "./types.js";
export { parseStateLocation, type StateLocation } from "./location.js";
export { STATE_KEY_VAR } from "./crypto.js";

/** Opens the backend `url` names (undefined: $YAGURA_STATE, else local) for `env`. */
export function openStateBackend(
  env: string,
  url: string | undefined,
  tls: StateTlsFiles = {},
  o: { stateRoot?: string; processEnv?: NodeJS.ProcessEnv } = {},
): StateBackend {
  const loc = parseStateLocation(url, tls, o.processEnv);
  return loc.kind === "local" ? localBackend(env, o.stateRoot) : etcdBackend(env, loc, o.processEnv);
}
