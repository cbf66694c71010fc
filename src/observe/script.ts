/**
 * The observe script: one small POSIX sh program per node, sent on stdin in a single SSH round
 * trip, that prints one JSON object on its first line, then sha256sum's lines for the managed
 * files (`<digest>  <path>`, absent files left out). Everything it names is quoted with shq, and
 * the JSON carries only booleans, numbers, hex digests and indexes into the lists the caller
 * holds, so no path or name has to be escaped inside sh.
 *
 * It forks as little as it can: every managed file is hashed by one sha256sum, and small files
 * (pids, fingerprints, the boot id) are read with the shell's `read`. A control-plane node has some
 * fifty managed files; one `$(sha256sum … | cut …)` each made the script cost seconds of CPU per
 * node per pass on a busy machine.
 */
import { shq } from "../infra/shell.js";
import { artifactCheckCommand, type ArtifactPlan } from "../k8s/artifacts.js";
import { bootGateSnippet } from "../k8s/boot-gate.js";
import type { Prerequisite } from "../ops/node/prerequisites.js";
import { fingerprintPath } from "../supervisor/fingerprint.js";
import type { Supervisor } from "../supervisor/types.js";

/** What to look at on one node. */
export interface ObservePlan {
  readonly prerequisites: readonly Prerequisite[];
  /** Managed files to hash. */
  readonly files: readonly string[];
  /** Supervised components and their supervisor. */
  readonly components: readonly string[];
  readonly supervisor: Supervisor;
  readonly etcdDataDir: string;
  /** Binaries whose sha256 to check (artifactCheckCommand); absent when not observed. */
  readonly artifacts?: readonly Pick<ArtifactPlan, "name" | "nodePath" | "sha256">[];
  /** Report whether the kubelet's boot gate holds the current boot id. */
  readonly bootGate?: boolean;
  /** Health endpoints probed with curl on the node (skipped, not failed, when the node has no curl). */
  readonly probes?: readonly HealthProbe[];
  /** Report the node's static IPv4 routes (`dst via gw`), for the bridge pod network. */
  readonly routes?: boolean;
  /** Report the mode kube-proxy says it runs in at this URL (its /proxyMode; needs curl). */
  readonly proxyModeUrl?: string;
}

/** A component's health endpoint on the node's loopback; healthy when it answers exactly `ok`. */
export interface HealthProbe {
  readonly component: string;
  readonly url: string;
  /** CA to verify an https endpoint with. */
  readonly caFile?: string;
}

const probe = (p: HealthProbe) =>
  `if command -v curl >/dev/null 2>&1; then ` +
  `if [ "$(curl -s -m 2 ${p.caFile ? `--cacert ${shq(p.caFile)} ` : ""}${shq(p.url)} 2>/dev/null)" = ok ]; then hv=ok; else hv=fail; fi; ` +
  `else hv=; fi`;

const check = (p: Prerequisite) =>
  p.kind === "command"
    ? `command -v ${shq(p.path)} >/dev/null 2>&1`
    : p.kind === "dir"
      ? `[ -d ${shq(p.path)} ]`
      : `[ -x ${shq(p.path)} ]`;

/**
 * sh that reads the first line of `path` into `$var` with the shell's own `read` (no process),
 * keeping it only when it is plain hex; empty when the file is absent or holds anything else.
 */
function readHexLine(variable: string, path: string): string {
  const f = shq(path);
  return `${variable}=; if [ -r ${f} ]; then read -r ${variable} < ${f} || true; fi; case "$${variable}" in *[!0-9a-f]*) ${variable}= ;; esac`;
}

/** Renders the script for a plan. */
export function observeScript(plan: ObservePlan): string {
  for (const f of plan.files)
    // sha256sum escapes such names and marks the line with a backslash, which the parser would not match.
    if (/[\\\n]/.test(f)) throw new Error(`managed file path ${JSON.stringify(f)} has a backslash or newline`);
  const out: string[] = ["m=''"];
  plan.prerequisites.forEach((p, i) => out.push(`${check(p)} || m="$m,${i}"`));
  out.push(`printf '{"missing":[%s]' "\${m#,}"`);
  out.push(`printf ',"services":['`);
  plan.components.forEach((c, i) => {
    out.push(`printf '${i ? "," : ""}{"state":'`);
    out.push(plan.supervisor.observeSnippet(c));
    out.push(readHexLine("fp", fingerprintPath(c)), `printf ',"fingerprint":"%s"}' "$fp"`);
  });
  const d = shq(plan.etcdDataDir);
  out.push(`dp=false; hm=false; [ -d ${d} ] && dp=true; [ -d ${d}/member ] && hm=true`);
  out.push(`printf '],"etcdData":{"present":%s,"hasMember":%s}' "$dp" "$hm"`);
  // The Kubernetes parts come after etcd's, and only when planned, so an etcd-only script is unchanged.
  if (plan.artifacts) {
    out.push(`printf ',"artifacts":['`);
    // A verdict is a word and maybe a digest; anything else is dropped (the parser calls it missing).
    plan.artifacts.forEach((a, i) =>
      out.push(
        `v=$( { ${artifactCheckCommand(a)}; } 2>/dev/null ); case "$v" in *[!a-z0-9\\ ]*) v= ;; esac; printf '${i ? "," : ""}"%s"' "$v"`,
      ),
    );
    out.push(`printf ']'`);
  }
  if (plan.bootGate) out.push(bootGateSnippet(), `printf ',"bootGate":%s' "$bg"`);
  if (plan.probes) {
    out.push(`printf ',"health":['`);
    plan.probes.forEach((p, i) => out.push(probe(p), `printf '${i ? "," : ""}"%s"' "$hv"`));
    out.push(`printf ']'`);
  }
  if (plan.routes) {
    // Only digits, dots and slashes pass the awk filter, so each entry is a plain JSON string.
    out.push(
      `printf ',"routes":['`,
      `ip -4 route show proto static 2>/dev/null | awk 'BEGIN { ORS = "" } $2 == "via" && $1 ~ /^[0-9.\\/]+$/ && $3 ~ /^[0-9.]+$/ { printf "%s\\"%s %s\\"", (n++ ? "," : ""), $1, $3 }'`,
      `printf ']'`,
    );
  }
  if (plan.proxyModeUrl) {
    // Letters only: the mode is a plain JSON string; "" when kube-proxy (or curl) did not answer.
    out.push(
      `pm=; if command -v curl >/dev/null 2>&1; then pm=$(curl -s -m 2 ${shq(plan.proxyModeUrl)} 2>/dev/null | tr -cd a-z | cut -c1-16); fi`,
      `printf ',"proxyMode":"%s"' "$pm"`,
    );
  }
  out.push(`printf '}\\n'`);
  // Last, outside the JSON: one sha256sum for every managed file (a missing one only prints to stderr).
  if (plan.files.length) out.push(`sha256sum -- ${plan.files.map(shq).join(" ")} 2>/dev/null || true`);
  return out.join("\n") + "\n";
}
