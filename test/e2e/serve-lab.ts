/**
 * The workload side of the Kubernetes lab e2e: a tiny static server/prober (echo/echo.c) built
 * with gcc and packed as an OCI image the way the lab packs its pause image, since nothing can be
 * pulled in the lab; and the objects the test applies. Pure except for the build.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { KubeObject } from "../../src/infra/kube-types.js";
import { ociImage } from "../../src/lab/pause.js";

/** The image's name; pods use it with imagePullPolicy Never. */
export const ECHO_IMAGE = "yagura.test/echo:1";
/** Where the probe pods write their results on their node (a hostPath). */
export const PROBE_DIR = "/var/lib/yagura-e2e-probe";
/** The namespace of the workload test. */
export const NS = "serve-e2e";

/** Builds the echo binary and packs it as an OCI image archive (ctr imports it). */
export function buildEchoImage(): Buffer {
  const dir = mkdtempSync(join(tmpdir(), "yagura-echo-"));
  try {
    const src = join(dirname(fileURLToPath(import.meta.url)), "echo", "echo.c");
    execFileSync("gcc", ["-static", "-Os", "-s", "-o", join(dir, "echo"), src]);
    return ociImage(readFileSync(join(dir, "echo")), ECHO_IMAGE, "echo");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const container = (name: string, args: string[], extra: Record<string, unknown> = {}) => ({
  name,
  image: ECHO_IMAGE,
  imagePullPolicy: "Never",
  args,
  ...extra,
});

/** A server pod pinned to `node` (it tolerates `tolerate` taints) with `labels`. */
export function serverPod(
  name: string,
  node: string,
  labels: Record<string, string>,
  tolerate: string[] = [],
): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: NS, labels },
    spec: {
      nodeName: node,
      tolerations: tolerate.map((key) => ({ key, operator: "Exists" })),
      containers: [container("echo", ["serve", "8080"], { ports: [{ containerPort: 8080 }] })],
    },
  };
}

/** A prober on `node` that connects to each `host:port` every second and writes what it got to PROBE_DIR/result. */
export function probePod(name: string, node: string, targets: [string, number][], tolerate: string[] = []): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: NS },
    spec: {
      nodeName: node,
      tolerations: tolerate.map((key) => ({ key, operator: "Exists" })),
      containers: [
        container("probe", ["probe", "/out/result", ...targets.flatMap(([h, p]) => [h, String(p)])], {
          securityContext: { runAsUser: 0 },
          volumeMounts: [{ name: "out", mountPath: "/out" }],
        }),
      ],
      volumes: [{ name: "out", hostPath: { path: PROBE_DIR, type: "DirectoryOrCreate" } }],
    },
  };
}

/** A Deployment of `replicas` servers with no toleration: the scheduler places it by the taints. */
export function serverDeployment(replicas: number): KubeObject {
  const labels = { app: "echo-deploy" };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "echo", namespace: NS },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { containers: [container("echo", ["serve", "8080"])] } },
    },
  };
}

/** A ClusterIP Service on port 80 in front of the pods labelled `selector`. */
export function clusterIpService(name: string, selector: Record<string, string>): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: NS },
    spec: { type: "ClusterIP", selector, ports: [{ port: 80, targetPort: 8080, protocol: "TCP" }] },
  };
}

/** The namespace object. */
export const namespace: KubeObject = { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } };

/** Parses the prober's result file: `host:port` → the reply line ("pong <pod>" or "error <why>"). */
export function parseProbe(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = /^(\S+) (.*)$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}
