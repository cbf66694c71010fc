/**
 * cloud-init user data per node: a typed view model computed here, rendered by the role's template
 * in templates/cloud-init/. Nova cannot change user data in place, so the servers ignore later
 * changes to it (see Compute): a new template reaches a node when its server is replaced.
 */
import type { NodeSpec } from "../src/cluster/spec.js";
import { renderTemplate } from "../src/templates/render.js";

/** The facts a node's cloud-init needs. */
export interface CloudInitView {
  readonly hostname: string;
  readonly cluster: string;
  readonly env: string;
  readonly sshPublicKey: string;
  /**
   * The node's yagura-issued SSH host key, so a replaced server presents the key yagura pinned:
   * the public line, and the private key as a YAML scalar (in a stack, a Terraform expression that
   * JSON-encodes the sensitive variable's entry, so the key is not in the configuration).
   */
  readonly hostKey: HostKeyView;
  readonly kernelModules: readonly string[];
  readonly sysctls: readonly { key: string; value: string }[];
  /** Zero or one etcd data volume (control-plane VMs). */
  readonly etcdDisks: readonly { device: string }[];
  /** runcmd entries, each an argv list. */
  readonly commands: readonly (readonly string[])[];
}

/** How user data carries a host key. */
export interface HostKeyView {
  readonly publicKey: string;
  readonly privateKeyScalar: string;
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
  ctx: { cluster: string; env: string; sshPublicKey: string; hostKey: HostKeyView },
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
    hostKey: ctx.hostKey,
    kernelModules: KERNEL_MODULES,
    sysctls: SYSCTLS,
    etcdDisks,
    commands,
  };
}

/**
 * Renders a node's user data with its role's template. Terraform would read `${` and `%{` in it as
 * its own template syntax, so only CDKTF tokens (the volume's device, the host key's expression)
 * may contain them.
 */
export function renderCloudInit(role: NodeSpec["role"], view: CloudInitView): string {
  const text = renderTemplate(`cloud-init/${role}.yaml.hbs`, view);
  const bad = /[$%]\{/.exec(text.replace(/\$\{TfToken\[TOKEN\.\d+\]\}/g, ""));
  if (bad) throw new Error(`cloud-init for ${view.hostname} contains ${bad[0]}, which Terraform would interpolate`);
  return text;
}
