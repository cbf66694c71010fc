/** The inventory's `reconciler` section: update batches, intervals, certificate renewal, backups. */
import { z } from "zod";

/** A duration as the inventory writes it: 30s, 5m, 2h, 30d. */
export const duration = z.string().regex(/^\d+(ms|s|m|h|d)$/, "must be a duration such as 30s, 5m, 2h or 30d");

/** reconciler.unreachableWait when the inventory does not say. */
export const UNREACHABLE_WAIT_DEFAULT = "75s";

/** The `reconciler` section. */
export const reconcilerSchema = z
  .object({
    maxConcurrentUpdates: z.number().int().min(1).default(3),
    watchInterval: duration.default("5m"),
    /**
     * How long one reconcile keeps observing nodes that do not answer over SSH before it gives up
     * (after 5, 10, 20, 40 s … within this total); 0s gives up at once.
     */
    unreachableWait: duration.default(UNREACHABLE_WAIT_DEFAULT),
    /** Renew a certificate this long before it expires. */
    certRenewBefore: duration.default("30d"),
    backup: z
      .object({
        schedule: duration.default("15m"),
        retention: z.number().int().min(1).default(16),
        dir: z.string().optional(),
        /** Copy each verified snapshot to S3-compatible object storage (Swift's S3 API, any S3). */
        upload: z
          .object({
            kind: z.literal("s3"),
            /** The S3 API's base URL; buckets are addressed path-style (`<endpoint>/<bucket>/<key>`). */
            endpoint: z.string(),
            bucket: z.string(),
            /** SigV4 signing region (Swift's S3 API accepts any; Ceph RGW and AWS check it). */
            region: z.string().default("us-east-1"),
            /** Key prefix inside the bucket, e.g. `prod/`. */
            prefix: z.string().default(""),
            /** Names of the environment variables holding the credentials (never the credentials). */
            accessKeyIdEnv: z.string().default("YAGURA_S3_ACCESS_KEY_ID"),
            secretAccessKeyEnv: z.string().default("YAGURA_S3_SECRET_ACCESS_KEY"),
            /** Snapshots kept in the bucket; defaults to `retention`. */
            retention: z.number().int().min(1).optional(),
          })
          .strict()
          .optional(),
      })
      .strict()
      .default({}),
  })
  .strict()
  .default({});
