/** The inventory's `addons` section: upstream bundles pinned by version and sha256. */
import { z } from "zod";

/** An upstream add-on manifest bundle, pinned by version and sha256. */
export const addonBundleSchema = z
  .object({
    version: z.string(),
    sha256: z.string(),
    /** A file path relative to the inventory file, or an http(s) URL. */
    source: z.string(),
  })
  .strict();

/** The upstream bundles yagura can apply, in the order their names appear in the inventory docs. */
export const ADDON_BUNDLES = [
  "tigera-operator",
  "openstack-cloud-controller-manager",
  "cinder-csi",
  "k8s-keystone-auth",
  "nfs-csi",
  "coredns",
] as const;

/** The `addons` section. */
export const addonsSchema = z
  .object({
    /** Delete objects yagura applied before and no longer renders. */
    prune: z.boolean().default(false),
    bundles: z
      .object(
        Object.fromEntries(ADDON_BUNDLES.map((b) => [b, addonBundleSchema.optional()])) as {
          [K in (typeof ADDON_BUNDLES)[number]]: z.ZodOptional<typeof addonBundleSchema>;
        },
      )
      .strict()
      .default({}),
    /** JSON file `{id, secret}` of the cloud.conf application credential when the stack outputs lack it. */
    cloudCredentialFile: z.string().optional(),
  })
  .strict()
  .default({});
