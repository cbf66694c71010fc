/**
 * Starting and restarting Kubernetes components under the node's supervisor. Each step brings the
 * component up with the definition now on disk and only then records the fingerprint it runs
 * with, so a failed start leaves the component outdated and the next pass tries again.
 */
import { posix } from "node:path";
import { shq } from "../../infra/shell.js";
import { K8S } from "../../k8s/layout.js";
import { APISERVER_PORT } from "../../k8s/render/context.js";
import { fingerprintPath } from "../../supervisor/fingerprint.js";
import type { ServiceDef, Supervisor } from "../../supervisor/types.js";
import { pollUntil } from "../etcd/steps.js";
import type { OpContext } from "../types.js";

/** One component to bring up on one node. */
export interface ComponentStart {
  readonly name: string;
  readonly fingerprint: string;
  /** The supervisor reports it running now: restart it (else start it). */
  readonly running: boolean;
  /** Seconds the old process gets after TERM on a restart (ServiceDef.stopTimeoutSeconds). */
  readonly stopTimeoutSeconds?: number;
}

/** What to start of a rendered component, and whether the supervisor reports it running now. */
export function componentStart(
  c: { readonly name: string; readonly fingerprint: string; readonly service: ServiceDef },
  running: boolean,
): ComponentStart {
  const stop = c.service.stopTimeoutSeconds;
  return {
    name: c.name,
    fingerprint: c.fingerprint,
    running,
    ...(stop !== undefined ? { stopTimeoutSeconds: stop } : {}),
  };
}

/** How long a (re)started apiserver may take to answer /readyz on its node. */
export const APISERVER_READY_TIMEOUT_MS = 120_000;

/** Writes the fingerprint file of `component` on the node. */
export async function recordComponentFingerprint(
  ctx: OpContext,
  node: string,
  component: string,
  fingerprint: string,
): Promise<void> {
  const path = fingerprintPath(component);
  await ctx.shell.run(node, `mkdir -p ${shq(posix.dirname(path))}`);
  await ctx.shell.upload(node, path, fingerprint + "\n", { mode: 0o644 });
}

/** sh that removes the fingerprints of `components`, so the restart rung restarts them. */
export function forgetFingerprintsScript(components: readonly string[]): string {
  return components.length ? `rm -f ${components.map((c) => shq(fingerprintPath(c))).join(" ")}` : "true";
}

/** (Re)starts a component and records its fingerprint. */
export async function bringUp(ctx: OpContext, node: string, sup: Supervisor, c: ComponentStart): Promise<void> {
  await ctx.shell.run(node, "sh -s", {
    stdin: c.running ? sup.restartScript(c.name, c.stopTimeoutSeconds) : sup.startScript(c.name),
  });
  await recordComponentFingerprint(ctx, node, c.name, c.fingerprint);
}

/**
 * sh that prints `ok` when the node's apiserver answers /readyz, `no-curl` when the node cannot
 * ask (then the API side judges health), or the answer it got.
 */
export function apiserverReadyScript(): string {
  return (
    `if ! command -v curl >/dev/null 2>&1; then echo no-curl; exit 0; fi; ` +
    `curl -s -m 3 --cacert ${shq(K8S.caCert)} https://127.0.0.1:${APISERVER_PORT}/readyz 2>&1 | head -c 300; true`
  );
}

/**
 * Waits until the node's apiserver answers /readyz ok. A node without curl cannot ask its own
 * apiserver; then the API endpoint yagura uses is asked instead, when this pass has a client.
 */
export async function waitApiserverReady(ctx: OpContext, node: string, timeoutMs = APISERVER_READY_TIMEOUT_MS) {
  await pollUntil(ctx, `kube-apiserver on ${node} ready`, timeoutMs, async () => {
    const out = (await ctx.shell.run(node, apiserverReadyScript())).trim();
    if (out === "no-curl") {
      if (!ctx.kube) return true;
      const r = await ctx.kube.readyz();
      return r.ok ? true : `the API endpoint's readyz answered ${JSON.stringify(r.body.slice(0, 200))}`;
    }
    return out === "ok" ? true : `readyz answered ${JSON.stringify(out.slice(0, 200))}`;
  });
}
