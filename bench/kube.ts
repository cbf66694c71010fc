/**
 * The Kubernetes API side: the node-objects rung's decision for 100, 1000 and 5000 registered
 * nodes that are in sync (observed through the in-memory API), and the real adapter's request
 * cost against a mutual-TLS stub server on 127.0.0.1 (one /readyz; a Node list of 1000 nodes).
 * Prints figures; asserts nothing. Run: npx tsx bench/kube.ts
 */
import { createServer } from "node:https";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { decideNodeObjects } from "../src/decide/k8s-node-objects.js";
import { createKubeApi } from "../src/infra/kube.js";
import { observeKube } from "../src/observe/kube.js";
import { kubeNodeObjectsOp } from "../src/ops/kube/node-objects.js";
import { openPki } from "../src/pki/index.js";
import { statusBuilder, testDesired, testSpec } from "../test/decide/builder.js";
import { fakeKube, runOp } from "../test/support/fake-kube.js";

const BOOT = "node.yagura.io/not-ready";

async function timed<T>(runs: number, f: () => Promise<T> | T): Promise<{ p50: number; max: number; last: T }> {
  const times: number[] = [];
  let last!: T;
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    last = await f();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return { p50: times[Math.floor(runs / 2)]!, max: times[runs - 1]!, last };
}

for (const n of [100, 1000, 5000]) {
  const base = testSpec(5, n - 5);
  const spec = {
    ...base,
    nodes: base.nodes.map((x, i) => ({
      ...x,
      labels: { "node.yagura.io/pool": i % 2 ? "a" : "b" },
      taints: i % 3 ? [] : [{ key: "dedicated", value: "x", effect: "NoSchedule" as const }],
    })),
  };
  const k = fakeKube();
  for (const x of spec.nodes)
    k.addNode(x.name, { taints: [{ key: BOOT, value: "", effect: "NoSchedule" }, ...x.taints] });
  await runOp(
    kubeNodeObjectsOp(
      spec.nodes.map((x) => ({ name: x.name, labels: x.labels, taints: x.taints })),
      BOOT,
    ),
    k,
  );
  const obs = await timed(5, () => observeKube(k, { daemonSets: [], objects: [] }));
  const status = { ...statusBuilder(spec, testDesired(spec)).build(), kube: obs.last };
  const o = { now: new Date("2026-01-01T00:00:00Z"), desired: testDesired(spec) };
  const d = await timed(50, () => decideNodeObjects(spec, status, o));
  console.log(
    `nodes ${String(n).padStart(5)}: observeKube (in-memory API) median ${obs.p50.toFixed(2)} ms; ` +
      `node-objects rung → ${d.last?.phase ?? "nothing to do"} median ${d.p50.toFixed(3)} ms, max ${d.max.toFixed(3)} ms`,
  );
}

const dir = await mkdtemp(join(tmpdir(), "yagura-bench-kube-"));
try {
  const now = new Date();
  const pki = openPki(dir);
  const req = { dnsNames: [], ipAddresses: [] as string[] };
  const serving = await pki.issue(
    "kubernetes",
    { ...req, name: "s", commonName: "kube-apiserver", ipAddresses: ["127.0.0.1"], usages: ["server"] },
    now,
  );
  const admin = await pki.issue(
    "kubernetes",
    { ...req, name: "a", commonName: "yagura-admin", usages: ["client"] },
    now,
  );
  const nodeList = JSON.stringify({
    kind: "NodeList",
    items: Array.from({ length: 1000 }, (_, i) => ({
      metadata: { name: `n${i}`, resourceVersion: String(i), labels: { "kubernetes.io/hostname": `n${i}` } },
      spec: { taints: [{ key: BOOT, effect: "NoSchedule" }] },
      status: { conditions: [{ type: "Ready", status: "True" }] },
    })),
  });
  const server = createServer(
    { cert: serving.certPem, key: serving.keyPem, ca: serving.caPem, requestCert: true, rejectUnauthorized: true },
    (rq, rs) => {
      rs.writeHead(200, { "content-type": rq.url === "/readyz" ? "text/plain" : "application/json" });
      rs.end(rq.url === "/readyz" ? "ok" : nodeList);
    },
  );
  let handshakes = 0;
  server.on("secureConnection", () => handshakes++);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  const api = createKubeApi({
    server: `https://127.0.0.1:${port}`,
    caPem: serving.caPem,
    certPem: admin.certPem,
    keyPem: admin.keyPem,
  });
  await api.readyz();
  const rz = await timed(100, () => api.readyz());
  const ln = await timed(20, () => api.listNodes());
  console.log(
    `adapter over mutual TLS on 127.0.0.1: readyz median ${rz.p50.toFixed(2)} ms, max ${rz.max.toFixed(2)} ms; ` +
      `listNodes of ${ln.last.length} nodes median ${ln.p50.toFixed(2)} ms; ${handshakes} TLS handshake(s) for 121 requests`,
  );
  await api.close();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
} finally {
  await rm(dir, { recursive: true, force: true });
}
