/**
 * The command-line side of the state backends: opening the one the --state flags name (flags.ts),
 * and holding an environment for a reconcile (standing by, for a watch on a shared store, until
 * this instance leads it).
 */
import { openStateBackend } from "./index.js";
import type { StateFlags } from "./flags.js";
import type { StateBackend, StateHolder } from "./types.js";

export { STATE_HELP, withStateOptions, type StateFlags } from "./flags.js";

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
