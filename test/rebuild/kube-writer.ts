/**
 * A writer against the Kubernetes API for the rebuild tests: it server-side applies one small
 * ConfigMap after another through yagura's own KubeApi client, counts each one the API
 * acknowledged (a 2xx answer), tolerates errors while a node is being replaced, and at stop reads
 * every acknowledged ConfigMap back. A write the API acknowledged and then lost is reported
 * missing, so the rebuild tests can assert that none was.
 */
import type { KubeApi, KubeObject } from "../../src/infra/kube-types.js";

/** Options of kubeWriter. */
export interface KubeWriterOptions {
  /**
   * Namespace of the ConfigMaps (it must exist).
   * @default "default"
   */
  readonly namespace?: string;
  /**
   * Pause between writes, so the writer does not crowd out the reconciler on a small machine.
   * @default 40
   */
  readonly pauseMs?: number;
  /** Names start with this; a fresh one per writer keeps runs apart. @default "rebuild-<ms>-" */
  readonly prefix?: string;
}

/** What a writer saw. */
export interface KubeWriterResult {
  readonly acked: number;
  readonly failed: number;
  /** Acknowledged ConfigMaps that are absent or hold another value when read back. */
  readonly missing: readonly string[];
  /** The first few distinct failure messages, so a test log says what the API answered. */
  readonly errors: readonly string[];
}

/** A running writer. */
export interface KubeWriter {
  /** Writes acknowledged so far. */
  acked(): number;
  /** Stops writing and reads every acknowledged ConfigMap back through `reader`. */
  stop(reader: KubeApi): Promise<KubeWriterResult>;
}

const MAX_ERRORS = 5;

/** The ConfigMap of write `i`. */
function configMap(namespace: string, name: string, i: number): KubeObject {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name, namespace, labels: { "rebuild.yagura.io/writer": "true" } },
    data: { i: String(i) },
  };
}

/**
 * Starts writing through `apis` (one client per API server): a write that fails moves on to the
 * next server, as a client behind a load balancer would be sent elsewhere.
 */
export function kubeWriter(apis: readonly KubeApi[], o: KubeWriterOptions = {}): KubeWriter {
  if (apis.length === 0) throw new Error("kubeWriter needs at least one KubeApi to write through");
  const namespace = o.namespace ?? "default";
  const prefix = o.prefix ?? `rebuild-${Date.now()}-`;
  const acked: { name: string; i: number }[] = [];
  const errors: string[] = [];
  let failed = 0;
  let writing = true;
  let at = 0;
  const loop = (async () => {
    for (let i = 0; writing; i++) {
      const name = `${prefix}${String(i).padStart(6, "0")}`;
      try {
        await apis[at % apis.length]!.apply(configMap(namespace, name, i));
        acked.push({ name, i });
      } catch (err) {
        failed++;
        at++;
        const m = (err as Error).message;
        if (errors.length < MAX_ERRORS && !errors.includes(m)) errors.push(m);
      }
      await new Promise((r) => setTimeout(r, o.pauseMs ?? 40));
    }
  })();
  return {
    acked: () => acked.length,
    async stop(reader) {
      writing = false;
      await loop;
      const missing: string[] = [];
      for (const { name, i } of acked) {
        const got = await reader.get({ apiVersion: "v1", kind: "ConfigMap", namespace, name });
        const data = got?.["data"] as Record<string, string> | undefined;
        if (data?.["i"] !== String(i)) missing.push(name);
      }
      return { acked: acked.length, failed, missing, errors };
    },
  };
}
