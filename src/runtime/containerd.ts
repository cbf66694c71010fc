/**
 * The container runtime every kubelet needs: containerd's config and start script, supervised like
 * any component, so a stopped containerd is started and an edited config repaired by the same
 * ladder that repairs etcd. What it needs of the node (containerd, runc, ctr, the CNI plugins) is a
 * prerequisite: yagura configures the runtime, the node image installs it.
 */
import { posix } from "node:path";
import { NODE_PATHS } from "../cluster/paths.js";
import type { ClusterSpec, NodeSpec } from "../cluster/spec.js";
import { shq } from "../infra/shell.js";
import type { Prerequisite } from "../ops/node/prerequisites.js";
import { fingerprintFiles, sha256 } from "../supervisor/fingerprint.js";
import { supervisorFor } from "../supervisor/index.js";
import type { ManagedFile } from "../supervisor/types.js";
import { renderTemplate } from "../templates/render.js";

/** The runtime's component name (service, fingerprint and log directory). */
export const CONTAINERD = "containerd";

/** containerd's paths on a node. */
export const CONTAINERD_PATHS = {
  config: "/etc/containerd/config.toml",
  start: posix.join(NODE_PATHS.yaguraDir, CONTAINERD, "start.sh"),
  socket: "/run/containerd/containerd.sock",
} as const;

/** The CNI plugins the bridge network runs (containernetworking-plugins). */
export const BRIDGE_CNI_PLUGINS = ["bridge", "host-local", "loopback", "portmap"] as const;

/** The view model of templates/runtime/containerd-config.toml.hbs. */
export interface ContainerdConfigView {
  readonly nodeName: string;
  readonly socket: string;
  readonly sandboxImage: string;
  readonly restrictOomScoreAdj: boolean;
  readonly systemdCgroup: boolean;
  readonly cniBinDir: string;
}

/** The rendered runtime of a node, shaped like a Kubernetes component. */
export interface RenderedRuntime {
  readonly name: typeof CONTAINERD;
  readonly service: { name: string; description: string; argv: readonly string[]; environmentFile: string };
  readonly files: readonly (ManagedFile & { readonly sha256: string })[];
  readonly fingerprint: string;
}

/** Where the node's CNI plugins are: the inventory's, else by network (Debian's package or Calico's). */
export function cniBinDir(spec: ClusterSpec): string {
  const inv = spec.inventory;
  return inv.runtime.cniBinDir ?? (inv.networking.cni === "bridge" ? "/usr/lib/cni" : "/opt/cni/bin");
}

/** containerd's config on this node. */
export function containerdConfigView(spec: ClusterSpec, node: NodeSpec): ContainerdConfigView {
  return {
    nodeName: node.name,
    socket: CONTAINERD_PATHS.socket,
    sandboxImage: spec.inventory.runtime.sandboxImage,
    // A lab node shares the host's kernel inside namespaces without CAP_SYS_RESOURCE.
    restrictOomScoreAdj: node.kind === "lab",
    // As the kubelet's cgroupDriver (render/kubelet.ts): lab nodes have no systemd.
    systemdCgroup: node.kind !== "lab",
    cniBinDir: cniBinDir(spec),
  };
}

/** containerd's supervised service, config and start script on this node. */
export function renderContainerd(spec: ClusterSpec, node: NodeSpec): RenderedRuntime {
  const rt = spec.inventory.runtime;
  const service = {
    name: CONTAINERD,
    description: `containerd (container runtime) on ${node.name}`,
    argv: [CONTAINERD_PATHS.start],
    environmentFile: posix.join(NODE_PATHS.yaguraDir, CONTAINERD, "env"),
  };
  const own: ManagedFile[] = [
    {
      path: CONTAINERD_PATHS.config,
      content: renderTemplate("runtime/containerd-config.toml.hbs", containerdConfigView(spec, node)),
      mode: 0o644,
    },
    {
      path: CONTAINERD_PATHS.start,
      content: renderTemplate("runtime/containerd-start.sh.hbs", {
        nodeName: node.name,
        imagesDir: shq(rt.imagesDir),
        socket: shq(CONTAINERD_PATHS.socket),
        containerd: shq(rt.containerd),
        config: shq(CONTAINERD_PATHS.config),
      }),
      mode: 0o755,
    },
  ];
  const files = [...supervisorFor(node).render(service), ...own].map((f) => ({ ...f, sha256: sha256(f.content) }));
  return { name: CONTAINERD, service, files, fingerprint: fingerprintFiles(files) };
}

/** What a node must have installed before yagura can run its container runtime and pod network. */
export function runtimePrerequisites(spec: ClusterSpec): Prerequisite[] {
  const out: Omit<Prerequisite, "kubernetes">[] = [
    { kind: "file", path: spec.inventory.runtime.containerd, hint: "containerd (1.6 or later)" },
    { kind: "command", path: "ctr", hint: "containerd" },
    { kind: "command", path: "runc", hint: "runc" },
  ];
  if (spec.inventory.networking.cni === "bridge") {
    const dir = cniBinDir(spec);
    for (const p of BRIDGE_CNI_PLUGINS)
      out.push({ kind: "file", path: posix.join(dir, p), hint: "containernetworking-plugins" });
    out.push({ kind: "command", path: "ip", hint: "iproute2" });
  }
  return out.map((p) => ({ ...p, kubernetes: true }));
}
