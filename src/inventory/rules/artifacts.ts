/** Artifact rules: pins well formed and of the cluster's release, and a source the node can reach. */
import type { Finding, Rule } from "./index.js";
import { artifactSource, COMPONENT_BINARIES, DEFAULT_RELEASE_URL } from "../schema.js";
import { compareVersions, isHttpUrl, parseKubeVersion } from "./syntax.js";

const KNOWN = [...COMPONENT_BINARIES, "etcd"] as readonly string[];

const binaries: Rule = (inv) => {
  const out: Finding[] = [];
  const cluster = parseKubeVersion(inv.cluster.kubernetesVersion);
  for (const [name, a] of Object.entries(inv.artifacts.binaries)) {
    const base = ["artifacts", "binaries", name];
    if (!KNOWN.includes(name)) {
      out.push({
        path: base,
        message: `unknown binary ${JSON.stringify(name)}: yagura installs only ${KNOWN.join(", ")}; remove it or fix the name`,
      });
      continue;
    }
    if (!/^[0-9a-f]{64}$/.test(a.sha256)) {
      const hint = /^[0-9A-F]{64}$/i.test(a.sha256) ? "write it in lower case" : `it has ${a.sha256.length} characters`;
      out.push({
        path: [...base, "sha256"],
        message: `sha256 of ${name} must be 64 lower-case hex digits (the output of sha256sum); ${hint}`,
      });
    }
    const v = parseKubeVersion(a.version);
    if (!v) {
      out.push({
        path: [...base, "version"],
        message: `version of ${name} ${JSON.stringify(a.version)} is not a release number MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]: write e.g. v1.33.5 or v1.34.0-rc.1 (etcd: v3.5.17)`,
      });
    } else if (name !== "etcd" && cluster && compareVersions(v, cluster) !== 0) {
      // The whole release, pre-release included: 1.34.0-rc.1 is not 1.34.0. Build metadata is not
      // part of a release's identity (semver), so 1.34.0+a and 1.34.0+b match.
      out.push({
        path: [...base, "version"],
        message: `${name} is version ${a.version} but cluster.kubernetesVersion is ${inv.cluster.kubernetesVersion}: yagura renders flags for the cluster version, so list the same release`,
      });
    }
  }
  return out;
};

const source: Rule = (inv) => {
  const a = inv.artifacts;
  const out: Finding[] = [];
  const src = artifactSource(a, inv.cluster.kubernetesVersion);
  if (src === "mirror") {
    if (a.mirrorUrl === undefined) {
      out.push({
        path: ["artifacts", "source"],
        message:
          "source is mirror but there is no mirrorUrl: add mirrorUrl (e.g. https://mirror.example.com/kubernetes; nodes fetch <mirrorUrl>/<version>/<name>) or use source: local",
      });
    }
    const missing = COMPONENT_BINARIES.filter((b) => a.binaries[b] === undefined);
    if (missing.length > 0) {
      out.push({
        path: ["artifacts", "binaries"],
        message: `source is mirror, so nodes need a version and sha256 for every binary they download; missing: ${missing.join(", ")}`,
      });
    }
  }
  if (a.releaseUrl !== undefined && !isHttpUrl(a.releaseUrl)) {
    out.push({
      path: ["artifacts", "releaseUrl"],
      message: `releaseUrl ${JSON.stringify(a.releaseUrl)} is not an http(s) URL without credentials, query or fragment: write the base of the official layout, e.g. ${DEFAULT_RELEASE_URL} or https://mirror.example.com/kubernetes (yagura fetches <releaseUrl>/release/v<version>/bin/linux/<arch>/<name>)`,
    });
  } else if (a.releaseUrl !== undefined && src !== "release") {
    out.push({
      path: ["artifacts", "releaseUrl"],
      message: `releaseUrl is only read by source release, but artifacts.source is ${src}: remove releaseUrl, or write source: release`,
    });
  }
  if (a.mirrorUrl !== undefined && !isHttpUrl(a.mirrorUrl)) {
    out.push({
      path: ["artifacts", "mirrorUrl"],
      message: `mirrorUrl ${JSON.stringify(a.mirrorUrl)} is not an http(s) URL without credentials, query or fragment: write e.g. https://mirror.example.com/kubernetes`,
    });
  }
  if (!a.installDir.startsWith("/")) {
    out.push({
      path: ["artifacts", "installDir"],
      message: `installDir ${JSON.stringify(a.installDir)} is a path on the node and must be absolute, e.g. /opt/yagura/bin`,
    });
  }
  return out;
};

/** Rules for the artifacts section. */
export const artifactRules: readonly Rule[] = [binaries, source];
