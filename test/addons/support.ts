/** Shared pieces of the add-on tests: a small bundle, its desired state, and an op runner on a fake API. */
import type { ClusterSpec } from "../../src/cluster/spec.js";
import type { KubeApi, KubeObject } from "../../src/infra/kube-types.js";
import type { Inventory } from "../../src/inventory/schema.js";
import { managedRecord, type AddonsDesired } from "../../src/addons/desired.js";
import { mergeObjects, sortByRank, stamp } from "../../src/addons/objects.js";
import { parseManifests } from "../../src/addons/sources.js";
import type { Op, OpContext } from "../../src/ops/types.js";
import { nope } from "../run/fakes.js";

/** A CRD, its custom resource, a namespace, RBAC, a config map and two workloads, written out of order. */
export const SMALL_BUNDLE = `
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: demo }
spec: { replicas: 2, template: { spec: { containers: [{ name: web, image: web:1 }] } } }
---
apiVersion: example.com/v1
kind: Widget
metadata: { name: w1 }
spec: { size: 3 }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: operator, namespace: demo }
spec: { replicas: 1, template: { spec: { hostNetwork: true, containers: [{ name: op, image: op:1 }] } } }
---
apiVersion: apps/v1
kind: DaemonSet
metadata: { name: agent, namespace: demo }
spec: { template: { spec: { containers: [{ name: agent, image: agent:1 }] } } }
---
apiVersion: v1
kind: ConfigMap
metadata: { name: settings, namespace: demo }
data: { a: "1" }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: agent }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: agent }
subjects: [{ kind: ServiceAccount, name: agent, namespace: demo }]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: agent }
rules: [{ apiGroups: [""], resources: [pods], verbs: [get] }]
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: { name: widgets.example.com }
spec:
  group: example.com
  names: { kind: Widget, plural: widgets }
  scope: Cluster
  versions: [{ name: v1, served: true, storage: true, schema: { openAPIV3Schema: { type: object, x-kubernetes-preserve-unknown-fields: true } } }]
---
apiVersion: v1
kind: ServiceAccount
metadata: { name: agent, namespace: demo }
---
apiVersion: v1
kind: Namespace
metadata: { name: demo }
`;

/** The small bundle's desired state (optionally with extra objects), as buildAddonsDesired shapes it. */
export function smallDesired(o: { prune?: boolean; extra?: readonly KubeObject[]; drop?: string } = {}): AddonsDesired {
  const objs = mergeObjects(parseManifests(SMALL_BUNDLE, "small.yaml"), o.extra ?? []).filter(
    (x) => x.metadata.name !== o.drop,
  );
  const objects = sortByRank(objs.map(stamp));
  return {
    objects,
    record: managedRecord(objects),
    prune: o.prune ?? false,
    cni: { namespace: "demo", name: "agent" },
  };
}

/** A spec of lab nodes whose inventory has only what the add-on rungs read. */
export function addonSpec(nodes: { name: string; kind?: "vm" | "baremetal" | "lab" }[]): ClusterSpec {
  return {
    env: "t",
    inventory: {
      cluster: { bootTaint: "node.yagura.io/not-ready" },
      networking: { cni: "calico" },
      addons: { prune: false, bundles: {} },
    } as unknown as Inventory,
    nodes: nodes.map((n, i) => ({
      name: n.name,
      pool: "static",
      role: i === 0 ? "control-plane" : "worker",
      kind: n.kind ?? "lab",
      address: `10.79.0.${11 + i}`,
      labels: {},
      taints: [],
      rebuildToken: "",
      managed: false,
      index: 0,
    })),
  };
}

/** An op context on `kube`; `onSleep` runs at each poll and the clock advances by the sleep. */
export function kubeCtx(
  kube: KubeApi,
  onSleep: () => void | Promise<void> = () => undefined,
): OpContext & {
  sleeps: number;
} {
  let t = Date.parse("2026-01-01T00:00:00Z");
  const ctx = {
    sleeps: 0,
    shell: { run: nope, close: nope } as unknown as OpContext["shell"],
    etcdAdmin: nope,
    kube,
    now: () => new Date(t),
    sleep: async (ms: number) => {
      ctx.sleeps++;
      t += ms;
      await onSleep();
    },
  };
  return ctx;
}

/** Runs every command of an op in order (as the loop does); at most 100, so a runaway op fails the test. */
export async function runOp(op: Op, ctx: OpContext): Promise<string[]> {
  const names: string[] = [];
  for (let i = 0; i < 100; i++) {
    const c = op.nextCommand();
    if (!c) return names;
    names.push(c.name);
    await c.run(ctx);
  }
  throw new Error(`op ${op.name} did not terminate within 100 commands`);
}
