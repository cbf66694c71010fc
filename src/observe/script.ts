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

/** The write-out curl prints after the body of fetch `i`, on a line of its own. */
const fetchMark = (i: number) => `@@yagura-fetch-${i}@@`;

/**
 * One curl for every loopback URL the node is asked about (the health probes, then kube-proxy's
 * mode): each answer's body, then its mark line, parsed with the shell's `read` into `$f0`, `$f1` …
 * Fetches that get no answer leave their body empty. A curl per URL, and `tr`/`cut` on the mode,
 * were most of a control-plane node's observe CPU. `$fc` is 1 when the node has curl.
 */
function fetchAll(urls: readonly { url: string; caFile?: string }[]): string[] {
  const ops = urls
    .map(
      (u, i) => `-s -m 2 ${u.caFile ? `--cacert ${shq(u.caFile)} ` : ""}-w ${shq(`\n${fetchMark(i)}\n`)} ${shq(u.url)}`,
    )
    .join(" --next ");
  const cases = urls.map((_, i) => `'${fetchMark(i)}') f${i}=$b; b= ;;`).join(" ");
  return [
    `fc=0; ${urls.map((_, i) => `f${i}=`).join("; ")}`,
    `if command -v curl >/dev/null 2>&1; then fc=1; fr=$(curl ${ops} 2>/dev/null); b=`,
    `while IFS= read -r l; do case "$l" in ${cases} *) b="$b$l" ;; esac; done <<YAGURA_FETCHED`,
    "$fr",
    "YAGURA_FETCHED",
    "fi",
  ];
}

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
  const probes = plan.probes ?? [];
  const fetches = [...probes, ...(plan.proxyModeUrl ? [{ url: plan.proxyModeUrl }] : [])];
  if (fetches.length) out.push(...fetchAll(fetches));
  if (plan.probes) {
    // "" when the node has no curl (unknown); else ok only for a body of exactly `ok`.
    out.push(`printf ',"health":['`);
    probes.forEach((_, i) =>
      out.push(
        `hv=; if [ "$fc" = 1 ]; then if [ "$f${i}" = ok ]; then hv=ok; else hv=fail; fi; fi`,
        `printf '${i ? "," : ""}"%s"' "$hv"`,
      ),
    );
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
    // Up to 16 letters only: the mode is a plain JSON string; "" when kube-proxy (or curl) did not answer.
    out.push(
      `pm=$f${probes.length}; case "$pm" in *[!a-z]*) pm= ;; esac; [ \${#pm} -le 16 ] || pm=`,
      `printf ',"proxyMode":"%s"' "$pm"`,
    );
  }
  out.push(`printf '}\\n'`);
  // Last, outside the JSON: one sha256sum for every managed file (a missing one only prints to stderr).
  if (plan.files.length) out.push(`sha256sum -- ${plan.files.map(shq).join(" ")} 2>/dev/null || true`);
  return out.join("\n") + "\n";
}
