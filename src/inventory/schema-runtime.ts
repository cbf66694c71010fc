/** The inventory's `runtime` section: the container runtime yagura configures and supervises on every node. */
import { z } from "zod";

/** The `runtime` section (containerd; the only runtime yagura manages). */
export const runtimeSchema = z
  .object({
    /** containerd's binary on the node (Debian and Ubuntu packages: /usr/bin/containerd). */
    containerd: z.string().default("/usr/bin/containerd"),
    /** The pod sandbox image; nodes that cannot pull preload it (see `imagesDir`). */
    sandboxImage: z.string().default("registry.k8s.io/pause:3.9"),
    /**
     * Where the CNI plugins are on the node.
     * @default /usr/lib/cni with `networking.cni: bridge` (Debian's containernetworking-plugins), else /opt/cni/bin (where Calico installs its plugins)
     */
    cniBinDir: z.string().optional(),
    /** Image tarballs (`*.tar`, OCI or docker-archive) found here on the node are imported at each containerd start. */
    imagesDir: z.string().default("/opt/yagura/images"),
  })
  .strict()
  .default({});
