/** The inventory's `networking` section: the pod network (Calico, or the image-free bridge network). */
import { z } from "zod";

/** An extra Calico IP pool. */
export const ipPoolSchema = z
  .object({
    name: z.string(),
    cidr: z.string(),
    blockSize: z.number().int().optional(),
    encapsulation: z.enum(["None", "IPIP", "VXLAN"]).optional(),
    natOutgoing: z.boolean().default(true),
  })
  .strict();

/** The `networking` section. */
export const networkingSchema = z
  .object({
    /**
     * The pod network: `calico` (BGP, route reflectors; needs its images) or `bridge`, a routed
     * bridge of the standard CNI plugins (bridge, host-local, loopback, portmap) plus a route on
     * every node to every other node's pod range, which needs no image; for flat layer-2 networks
     * such as the lab.
     */
    cni: z.enum(["calico", "bridge"]).default("calico"),
    calico: z
      .object({
        asNumber: z.number().int().min(1).max(4294967295).default(64512),
        encapsulation: z.enum(["None", "IPIP", "VXLAN"]).default("None"),
        blockSize: z.number().int().min(20).max(32).default(26),
        routeReflectors: z
          .object({
            enabled: z.boolean().default(true),
            /** Nodes chosen as reflectors; picked from the control plane when empty. */
            nodes: z.array(z.string()).default([]),
            count: z.number().int().min(0).default(2),
            clusterId: z.string().default("244.0.0.1"),
          })
          .strict()
          .default({}),
        ipPools: z.array(ipPoolSchema).default([]),
      })
      .strict()
      .default({}),
  })
  .strict()
  .default({});
