/** The inventory's `artifacts` section: where the Kubernetes binaries come from and how they are pinned. */
import { z } from "zod";
import { duration } from "./schema-reconciler.js";

/** Where the official release layout lives when the inventory names no mirror of it. */
export const DEFAULT_RELEASE_URL = "https://dl.k8s.io";

/** One pinned binary. */
export const artifactSchema = z
  .object({
    version: z.string(),
    sha256: z.string(),
  })
  .strict();

/** How binaries reach the nodes. */
export const ARTIFACT_SOURCES = ["release", "image", "local", "mirror"] as const;
/** One of ARTIFACT_SOURCES. */
export type ArtifactSource = (typeof ARTIFACT_SOURCES)[number];

/** The `artifacts` section. */
export const artifactsSchema = z
  .object({
    /**
     * release: yagura downloads the official release layout (`releaseUrl`), checks each file against
     * its pin or its published `.sha256`, keeps it in a local cache and copies it over SSH;
     * image: already on the node image; local: copied from a directory; mirror: downloaded by the node.
     * @default local when `localDir` is set or `cluster.kubernetesVersion` is `local`, mirror when
     * `mirrorUrl` is set, else release (see artifactSource)
     */
    source: z.enum(ARTIFACT_SOURCES).optional(),
    /** For source release: the base of `<releaseUrl>/release/v<version>/bin/linux/<arch>/<name>`. @default https://dl.k8s.io */
    releaseUrl: z.string().optional(),
    /** For source release: the nodes' architecture in the release layout. @default amd64 */
    arch: z.enum(["amd64", "arm64", "ppc64le", "s390x"]).default("amd64"),
    /** For source release: how long a download may go without a byte before it fails. @default 30s */
    downloadTimeout: duration.default("30s"),
    /** For source local (YAGURA_KUBE_BIN_DIR overrides it). */
    localDir: z.string().optional(),
    /** For source mirror: base URL; the node fetches <mirror>/<version>/<name>. */
    mirrorUrl: z.string().optional(),
    /** Where binaries live on the node. */
    installDir: z.string().default("/opt/yagura/bin"),
    binaries: z.record(z.string(), artifactSchema).default({}),
  })
  .strict()
  .default({});

/** The `artifacts` section after defaults. */
export type Artifacts = z.infer<typeof artifactsSchema>;

/**
 * The source in force: the one written, else what the section implies (a local directory or the
 * `local` release → local; a node mirror → mirror), else the official release layout. Read from the
 * inventory alone, never from the environment, so a file means the same on every machine.
 */
export function artifactSource(a: Artifacts, kubernetesVersion?: string): ArtifactSource {
  if (a.source !== undefined) return a.source;
  if (kubernetesVersion === "local" || a.localDir !== undefined) return "local";
  if (a.mirrorUrl !== undefined) return "mirror";
  return "release";
}
