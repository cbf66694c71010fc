/**
 * A writer against the Kubernetes API for the rebuild tests: it server-side applies one small
 * ConfigMap after another through yagura's own KubeApi client, counts each one the API
 * acknowledged (a 2xx answer), tolerates errors while a node is being replaced, and at stop reads
 * every ConfigMap it wrote back in one list (by its own label). A write the API acknowledged and
 * then lost is reported missing, so the rebuild tests can assert that none was.
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

/** The label naming the writer that wrote a ConfigMap. */
const WRITER_LABEL = "rebuild.yagura.io/writer";

/** The ConfigMap of write `i`. */
function configMap(namespace: string, name: string, i: number, writer: string): KubeObject {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name, namespace, labels: { [WRITER_LABEL]: writer } },
    data: { i: String(i) },
  };
}

/** Lists the writer's ConfigMaps, asking again while the API answers with an error (an apiserver still settling). */
async function readBack(reader: KubeApi, namespace: string, writer: string): Promise<Map<string, string | undefined>> {
  for (let attempt = 1; ; attempt++) {
    try {
      const items = await reader.list("v1", "ConfigMap", { namespace, labelSelector: `${WRITER_LABEL}=${writer}` });
      return new Map(items.map((o) => [o.metadata.name, (o["data"] as Record<string, string> | undefined)?.["i"]]));
    } catch (err) {
      if (attempt >= 20) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/**
 * Starts writing through `apis` (one client per API server): a write that fails moves on to the
 * next server, as a client behind a load balancer would be sent elsewhere.
 */
export function kubeWriter(apis: readonly KubeApi[], o: KubeWriterOptions = {}): KubeWriter {
  if (apis.length === 0) throw new Error("kubeWriter needs at least one KubeApi to write through");
  const namespace = o.namespace ?? "default";
  const prefix = o.prefix ?? `rebuild-${Date.now()}-`;
  // A label value ends in an alphanumeric character.
  const writer = prefix.replace(/[^A-Za-z0-9]+$/, "") || "writer";
  const acked: { name: string; i: number }[] = [];
  const errors: string[] = [];
  let failed = 0;
  let writing = true;
  let at = 0;
  const loop = (async () => {
    for (let i = 0; writing; i++) {
      const name = `${prefix}${String(i).padStart(6, "0")}`;
      try {
        await apis[at % apis.length]!.apply(configMap(namespace, name, i, writer));
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
      const stored = await readBack(reader, namespace, writer);
      const missing = acked.filter(({ name, i }) => stored.get(name) !== String(i)).map(({ name }) => name);
      return { acked: acked.length, failed, missing, errors };
    },
  };
}
