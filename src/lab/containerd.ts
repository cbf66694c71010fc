/**
 * The container runtime a lab node plays in its image: Debian's containerd and runc, configured
 * for life inside a lab node, and a runit service definition for it in /etc/yagura/sv that a
 * reconciler enables by linking it into /etc/service.
 */
import type { NodeFile } from "./nodefs.js";

/** The image the CRI plugin uses for pod sandboxes; the lab builds and imports it (see pause.ts). */
export const PAUSE_IMAGE_REF = "registry.k8s.io/pause:3.9";

/** Where the lab puts the pause image tarball on each node. */
export const PAUSE_IMAGE_PATH = "/opt/yagura/images/pause.tar";

const CONFIG = `# containerd for a yagura lab node.
version = 2
root = "/var/lib/containerd"
state = "/run/containerd"

[grpc]
  address = "/run/containerd/containerd.sock"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${PAUSE_IMAGE_REF}"
  # Lab nodes may not lower oom_score_adj (no CAP_SYS_RESOURCE): without this every sandbox fails
  # with runc's "can't get final child's PID from pipe: EOF".
  restrict_oom_score_adj = true

[plugins."io.containerd.grpc.v1.cri".containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"

[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
  BinaryName = "/usr/sbin/runc"
  SystemdCgroup = false

[plugins."io.containerd.grpc.v1.cri".cni]
  bin_dir = "/usr/lib/cni"
  conf_dir = "/etc/cni/net.d"
`;

// No image can be pulled here, so the pause image is imported once containerd answers. The import
// runs detached (reparented to runsvdir, which reaps it) so containerd stays the service's process.
const RUN = `#!/bin/sh
exec 2>&1
mkdir -p /run/containerd /var/log/containerd
if [ -f ${PAUSE_IMAGE_PATH} ]; then
  ( (
    i=0
    while [ $i -lt 100 ]; do
      if ctr -n k8s.io images import --all-platforms ${PAUSE_IMAGE_PATH} >/dev/null 2>&1; then exit 0; fi
      i=$((i + 1)); sleep 0.2
    done
  ) & )
fi
exec /usr/bin/containerd --config /etc/containerd/config.toml
`;

/** containerd's files on a node: config and a (not yet enabled) runit service. */
export function containerdFiles(): NodeFile[] {
  return [
    { path: "/etc/containerd/config.toml", content: CONFIG, mode: 0o644 },
    { path: "/etc/yagura/sv/containerd/run", content: RUN, mode: 0o755 },
    {
      path: "/etc/yagura/sv/containerd/log/run",
      content: "#!/bin/sh\nmkdir -p /var/log/containerd\nexec svlogd -tt /var/log/containerd\n",
      mode: 0o755,
    },
  ];
}
