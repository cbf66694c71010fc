/**
 * cloud-init user data per node: a typed view model computed here, rendered by the role's template
 * in templates/cloud-init/. The user data of a node never changes after creation unless its server
 * is meant to be replaced (Nova cannot change user data in place).
 */
import type { NodeSpec } from "../src/cluster/spec.js";
import { renderTemplate } from "../src/templates/render.js";

/** The facts a node's cloud-init needs. */
export interface CloudInitView {
  readonly hostname: string;
  readonly cluster: string;
  readonly env: string;
  readonly sshPublicKey: string;
  readonly kernelModules: readonly string[];
  readonly sysctls: readonly { key: string; value: string }[];
  /** Zero or one etcd data volume (control-plane VMs). */
  readonly etcdDisks: readonly { device: string }[];
  /** runcmd entries, each an argv list. */
  readonly commands: readonly (readonly string[])[];
}

/** Kernel modules the container runtime and kube-proxy need. */
export const KERNEL_MODULES = ["overlay", "br_netfilter"] as const;

/** Sysctls for routing pod traffic and letting iptables see bridged packets. */
export const SYSCTLS = [
  { key: "net.ipv4.ip_forward", value: "1" },
  { key: "net.bridge.bridge-nf-call-iptables", value: "1" },
  { key: "net.bridge.bridge-nf-call-ip6tables", value: "1" },
] as const;

/** Marker the reconciler checks to know first boot finished. */
export const READY_MARKER = "/var/lib/yagura/cloud-init-ready";

/**
 * Builds the view model. `etcdDevice` is the etcd volume's stable device path (see Compute), known
 * before the volume is attached.
 */
export function cloudInitView(
  node: NodeSpec,
  ctx: { cluster: string; env: string; sshPublicKey: string },
  etcdDevice?: string,
): CloudInitView {
  const etcdDisks = etcdDevice === undefined ? [] : [{ device: etcdDevice }];
  const commands: string[][] = [
    ...KERNEL_MODULES.map((m) => ["modprobe", m]),
    ["sysctl", "--system"],
    ["swapoff", "-a"],
    ["sed", "-i", "/\\sswap\\s/s/^/#/", "/etc/fstab"],
    ["systemctl", "mask", "swap.target"],
  ];
  if (etcdDisks.length > 0) {
    commands.push(["systemctl", "daemon-reload"], ["systemctl", "enable", "--now", "var-lib-etcd.mount"]);
  }
  commands.push(
    // The runtime comes with the image; wait until it answers so the reconciler finds it ready.
    [
      "sh",
      "-c",
      "systemctl enable --now containerd && for i in $(seq 120); do ctr version >/dev/null 2>&1 && exit 0; sleep 1; done; exit 1",
    ],
    ["sh", "-c", `mkdir -p ${READY_MARKER.replace(/\/[^/]+$/, "")} && touch ${READY_MARKER}`],
  );
  return {
    hostname: node.name,
    cluster: ctx.cluster,
    env: ctx.env,
    sshPublicKey: ctx.sshPublicKey,
    kernelModules: KERNEL_MODULES,
    sysctls: SYSCTLS,
    etcdDisks,
    commands,
  };
}

/** Renders a node's user data with its role's template. */
export function renderCloudInit(role: NodeSpec["role"], view: CloudInitView): string {
  return renderTemplate(`cloud-init/${role}.yaml.hbs`, view);
}
