/** Kubernetes rules: a supported version, a valid cluster domain and boot taint, sane reconciler timings. */
import type { Finding, Rule } from "./index.js";
import { artifactSource, SUPPORTED_KUBERNETES } from "../schema.js";
import { isDnsSubdomain, labelKeyProblem, parseDuration, parseKubeVersion } from "./syntax.js";

const range = `${SUPPORTED_KUBERNETES.min.join(".")}.x to ${SUPPORTED_KUBERNETES.max.join(".")}.x`;

const kubernetesVersion: Rule = (inv) => {
  const path = ["cluster", "kubernetesVersion"];
  const s = inv.cluster.kubernetesVersion;
  // `local`: the release of the binaries in the local directory (k8s/local-release.ts).
  if (s === "local")
    return artifactSource(inv.artifacts, s) === "local"
      ? []
      : [
          {
            path,
            message: `kubernetesVersion local takes the release from local binaries, but artifacts.source is ${inv.artifacts.source}: write the release (e.g. "1.33.5") or use artifacts.source local`,
          },
        ];
  const v = parseKubeVersion(s);
  if (!v)
    return [
      {
        path,
        message: `kubernetesVersion ${JSON.stringify(s)} is not a release number MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]: write a full release such as "1.33.5" or a pre-release such as "1.34.0-rc.1" (a leading v is allowed; no leading zeros; quote it so YAML keeps it a string)`,
      },
    ];
  // A pre-release belongs to its minor: 1.24.0-alpha.1 is rendered as 1.24.
  const { major: maj, minor: min } = v;
  const lo = SUPPORTED_KUBERNETES.min;
  const hi = SUPPORTED_KUBERNETES.max;
  const below = maj < lo[0] || (maj === lo[0] && min < lo[1]);
  const above = maj > hi[0] || (maj === hi[0] && min > hi[1]);
  if (below || above)
    return [
      {
        path,
        message: `Kubernetes ${s} is not supported: yagura renders configuration for ${range}; choose a release in that range`,
      },
    ];
  return [];
};

const clusterDomain: Rule = (inv) =>
  isDnsSubdomain(inv.cluster.clusterDomain)
    ? []
    : [
        {
          path: ["cluster", "clusterDomain"],
          message: `clusterDomain ${JSON.stringify(inv.cluster.clusterDomain)} is not a DNS domain: use lower-case labels joined by '.', e.g. cluster.local`,
        },
      ];

const bootTaint: Rule = (inv) => {
  const p = labelKeyProblem(inv.cluster.bootTaint);
  return p
    ? [
        {
          path: ["cluster", "bootTaint"],
          message: `bootTaint ${JSON.stringify(inv.cluster.bootTaint)} is not a valid taint key: ${p}`,
        },
      ]
    : [];
};

/** The schema checks duration syntax; this checks that the values make sense. */
const reconcilerTimings: Rule = (inv) => {
  const out: Finding[] = [];
  const r = inv.reconciler;
  const watch = parseDuration(r.watchInterval);
  if (watch !== undefined && watch < 10_000) {
    out.push({
      path: ["reconciler", "watchInterval"],
      message: `watchInterval ${r.watchInterval} is shorter than 10s: each pass opens an SSH session to every node and queries etcd and the API, so a shorter interval overlaps passes; use 10s or more (5m is usual)`,
    });
  }
  const renew = parseDuration(r.certRenewBefore);
  if (renew === 0)
    out.push({
      path: ["reconciler", "certRenewBefore"],
      message:
        "certRenewBefore is 0, so certificates would be renewed only after they expire: use a lead time such as 30d",
    });
  const backup = parseDuration(r.backup.schedule);
  if (backup !== undefined && backup < 60_000) {
    out.push({
      path: ["reconciler", "backup", "schedule"],
      message: `backup schedule ${r.backup.schedule} is shorter than 1m: an etcd snapshot of a busy cluster can take longer than that; use 1m or more (15m is usual)`,
    });
  }
  inv.nodePools.forEach((p, i) => {
    for (const k of ["create", "delete"] as const) {
      const t = p.timeouts[k];
      if (t === undefined) continue;
      const path = ["nodePools", i, "timeouts", k];
      if (/d$/.test(t)) {
        // Server timeouts go to Terraform, whose durations stop at hours.
        const hours = (parseDuration(t) ?? 0) / 3_600_000;
        out.push({
          path,
          message: `timeouts.${k} ${t} uses days, which Terraform does not accept: write hours or minutes, e.g. ${hours}h`,
        });
      } else if (parseDuration(t) === 0) {
        out.push({
          path,
          message: `timeouts.${k} of 0 would fail every ${k}: remove it for the provider default or give a duration such as 30m`,
        });
      }
    }
  });
  return out;
};

/** Rules for the Kubernetes and reconciler settings. */
export const kubernetesRules: readonly Rule[] = [kubernetesVersion, clusterDomain, bootTaint, reconcilerTimings];
