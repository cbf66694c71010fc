/**
 * What a lab node's image carries for its container runtime. Debian's containerd and runc are
 * installed on the host (and so in every node's overlay); the reconciler's runtime rung writes
 * containerd's config and service, as on a real machine. Nothing can be pulled here, so the image
 * holds the pod sandbox image as a tarball where yagura's containerd start script imports it
 * (`runtime.imagesDir`, default /opt/yagura/images).
 */

/** The image the CRI plugin uses for pod sandboxes (`runtime.sandboxImage`'s default); the lab builds it (pause.ts). */
export const PAUSE_IMAGE_REF = "registry.k8s.io/pause:3.9";

/** Where the lab puts the pause image tarball on each node. */
export const PAUSE_IMAGE_PATH = "/opt/yagura/images/pause.tar";
