/**
 * The pod sandbox ("pause") image, built by the lab because nothing can be pulled here: a tiny
 * static C program compiled with gcc, packed as an OCI image layout tarball that
 * `ctr -n k8s.io images import` accepts. Digests are computed here.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { run, which } from "./exec.js";
import { PAUSE_IMAGE_REF } from "./containerd.js";
import { tar } from "./tar.js";

// Sleeps until a signal; exits on the ones a runtime sends to stop a sandbox, reaps orphans.
const PAUSE_C = `#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
static void quit(int s) { (void)s; _exit(0); }
static void reap(int s) { (void)s; while (waitpid(-1, 0, WNOHANG) > 0) {} }
int main(void) {
  signal(SIGINT, quit);
  signal(SIGTERM, quit);
  signal(SIGCHLD, reap);
  for (;;) pause();
}
`;

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/** A content descriptor as OCI writes it. */
function descriptor(mediaType: string, blob: Buffer) {
  return { mediaType, digest: `sha256:${sha(blob)}`, size: blob.length };
}

/** Packs one static binary as an OCI image layout tarball named `ref`, run as `/<file>` (default /pause). */
export function ociImage(binary: Buffer, ref: string, file = "pause"): Buffer {
  const layer = tar([{ name: file, data: binary, mode: 0o755 }]);
  const config = Buffer.from(
    JSON.stringify({
      architecture: "amd64",
      os: "linux",
      config: { Entrypoint: [`/${file}`], User: "65535:65535" },
      rootfs: { type: "layers", diff_ids: [`sha256:${sha(layer)}`] },
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: descriptor("application/vnd.oci.image.config.v1+json", config),
      layers: [descriptor("application/vnd.oci.image.layer.v1.tar", layer)],
    }),
  );
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [
        {
          ...descriptor("application/vnd.oci.image.manifest.v1+json", manifest),
          platform: { architecture: "amd64", os: "linux" },
          // containerd names the imported image after this annotation.
          annotations: { "io.containerd.image.name": ref, "org.opencontainers.image.ref.name": ref.split(":").pop() },
        },
      ],
    }),
  );
  const blob = (b: Buffer) => ({ name: `blobs/sha256/${sha(b)}`, data: b });
  return tar([
    { name: "oci-layout", data: Buffer.from(JSON.stringify({ imageLayoutVersion: "1.0.0" })) },
    { name: "index.json", data: index },
    { name: "blobs" },
    { name: "blobs/sha256" },
    blob(layer),
    blob(config),
    blob(manifest),
  ]);
}

/** Why the pause image cannot be built here, or undefined when it can. */
export function pauseUnavailable(): string | undefined {
  if (process.arch !== "x64") return `the pause image is built for amd64 only (this is ${process.arch})`;
  if (!which("gcc")) return "gcc is missing (Debian package gcc)";
  if (!existsSync("/usr/lib/x86_64-linux-gnu/libc.a"))
    return "the static C library is missing (Debian package libc6-dev)";
  return undefined;
}

/** Builds (once, cached in `dir`) the pause image tarball; returns its path. */
export async function buildPauseImage(dir: string): Promise<string> {
  const out = join(dir, "pause.tar");
  if (existsSync(out)) return out;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "pause.c"), PAUSE_C);
  await run(["gcc", "-static", "-Os", "-s", "-o", join(dir, "pause"), join(dir, "pause.c")]);
  writeFileSync(out + ".tmp", ociImage(readFileSync(join(dir, "pause")), PAUSE_IMAGE_REF));
  renameSync(out + ".tmp", out);
  return out;
}
