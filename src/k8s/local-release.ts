/**
 * `cluster.kubernetesVersion: local`: the release is whatever Kubernetes server binaries the
 * operator gives in a local directory (YAGURA_KUBE_BIN_DIR, else artifacts.localDir), so an
 * inventory such as the lab's names no version and pins no checksum of its own. yagura asks
 * kube-apiserver for its version and pins each binary it is not told to pin to the sha256 of the
 * local file, before anything is validated against the release or rendered for it. Pins written
 * in the inventory still win, so a mismatch is still reported.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { binaryVersionSync, sha256FileSync } from "../infra/file-digest.js";
import { join } from "node:path";
import { artifactSource, COMPONENT_BINARIES, type Inventory } from "../inventory/schema.js";
import type { ArtifactEnv } from "./artifacts.js";

/** The kubernetesVersion that means "what the local binaries report". */
export const LOCAL_RELEASE = "local";

/** The directory local binaries come from, as planArtifacts picks it. */
export function localBinDir(inv: Inventory, env: ArtifactEnv): string | undefined {
  const e = env.YAGURA_KUBE_BIN_DIR;
  return e !== undefined && e !== "" ? e : inv.artifacts.localDir;
}

/** "Kubernetes v1.24.0-alpha.1-lab" → "1.24.0-alpha.1-lab". */
export function parseKubeVersionOutput(out: string): string | undefined {
  return /Kubernetes v(\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]+)?)\s*$/.exec(out.trim())?.[1];
}

/** Why the release cannot be taken from local binaries now (for the message that stops the Kubernetes rungs). */
export function localReleaseProblem(inv: Inventory, env: ArtifactEnv): string {
  const dir = localBinDir(inv, env);
  return dir === undefined
    ? "cluster.kubernetesVersion is local, but no directory of Kubernetes binaries is given: set YAGURA_KUBE_BIN_DIR (or artifacts.localDir) to one holding " +
        `${COMPONENT_BINARIES.join(", ")}, or write the release in cluster.kubernetesVersion`
    : `cluster.kubernetesVersion is local, but ${join(dir, "kube-apiserver")} does not report a version: put the Kubernetes server binaries there, or write the release in cluster.kubernetesVersion`;
}

/** Runs `<binary> --version`; undefined when it cannot. */
function runVersion(binary: string): string | undefined {
  try {
    return parseKubeVersionOutput(execFileSync(binary, ["--version"], { encoding: "utf8", timeout: 20_000 }));
  } catch {
    return undefined;
  }
}

/** What `<binary> --version` reports, run once per binary file (file-digest.ts keeps the answer). */
const reportedVersion = (binary: string) => binaryVersionSync(binary, runVersion);

/**
 * The inventory with `local` replaced by the release the local kube-apiserver reports and every
 * unpinned binary pinned to its local file; unchanged when the version is not `local`, or when no
 * local binaries answer (the Kubernetes rungs then stop with localReleaseProblem).
 */
export function resolveLocalRelease(inv: Inventory, env: ArtifactEnv, probe = reportedVersion): Inventory {
  if (inv.cluster.kubernetesVersion !== LOCAL_RELEASE || artifactSource(inv.artifacts, LOCAL_RELEASE) !== "local")
    return inv;
  const dir = localBinDir(inv, env);
  if (dir === undefined || !existsSync(join(dir, "kube-apiserver"))) return inv;
  const version = probe(join(dir, "kube-apiserver"));
  if (version === undefined) return inv;
  const binaries = { ...inv.artifacts.binaries };
  for (const name of COMPONENT_BINARIES) {
    const path = join(dir, name);
    if (binaries[name] || !existsSync(path)) continue;
    binaries[name] = { version, sha256: sha256FileSync(path) };
  }
  return {
    ...inv,
    cluster: { ...inv.cluster, kubernetesVersion: version },
    artifacts: { ...inv.artifacts, source: "local", binaries },
  };
}
