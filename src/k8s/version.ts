/**
 * The Kubernetes version a rendering targets, parsed once. Every version switch in src/k8s reads a
 * `KubeVersion`, never the raw string, so an unsupported version fails in one place with one message.
 */
import { SUPPORTED_KUBERNETES } from "../inventory/schema.js";
import { parseKubeVersion } from "../inventory/rules/syntax.js";
import { UserError } from "../cli/errors.js";

/**
 * A parsed, supported Kubernetes release. A pre-release counts as its minor for every version switch
 * (`atLeast`): 1.24.0-alpha.1 is rendered as 1.24.
 */
export interface KubeVersion {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  /** The semver pre-release (`alpha.1-lab` of v1.24.0-alpha.1-lab), undefined for a release. */
  readonly prerelease: string | undefined;
  /** As written, with a leading v, pre-release and build metadata kept (v1.33.5, v1.24.0-alpha.1-lab). */
  readonly text: string;
}

const fmt = (v: readonly [number, number]) => `${v[0]}.${v[1]}`;

/** Parses `1.33.5` / `v1.33.5` / `v1.24.0-alpha.1`; throws when malformed or outside SUPPORTED_KUBERNETES. */
export function kubeVersion(s: string): KubeVersion {
  const v = parseKubeVersion(s);
  const { min, max } = SUPPORTED_KUBERNETES;
  if (!v) {
    throw new UserError(
      `Kubernetes version ${JSON.stringify(s)} is not a release number MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]: write e.g. v1.33.5 or v1.34.0-rc.1 in cluster.kubernetesVersion`,
    );
  }
  const { major, minor, patch, prerelease, build } = v;
  const below = major < min[0] || (major === min[0] && minor < min[1]);
  const above = major > max[0] || (major === max[0] && minor > max[1]);
  if (below || above) {
    throw new UserError(
      `Kubernetes ${major}.${minor} is not supported: yagura renders configuration for ${fmt(min)} to ${fmt(max)}; change cluster.kubernetesVersion`,
    );
  }
  const text = `v${major}.${minor}.${patch}${prerelease === undefined ? "" : `-${prerelease}`}${build === undefined ? "" : `+${build}`}`;
  return { major, minor, patch, prerelease, text };
}

/** True when `v` is 1.<minor> or later. */
export function atLeast(v: KubeVersion, minor: number): boolean {
  return v.major > 1 || (v.major === 1 && v.minor >= minor);
}
