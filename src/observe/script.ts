/**
 * The observe script: one small POSIX sh program per node, sent on stdin in a single SSH round
 * trip, that prints one JSON object. Everything it names is quoted with shq, and its output
 * carries only booleans, numbers, hex digests and indexes into the lists the caller holds, so
 * no path or name has to be escaped inside sh.
 */
import { shq } from "../infra/shell.js";
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
}

const check = (p: Prerequisite) =>
  p.kind === "command"
    ? `command -v ${shq(p.path)} >/dev/null 2>&1`
    : p.kind === "dir"
      ? `[ -d ${shq(p.path)} ]`
      : `[ -x ${shq(p.path)} ]`;

/** Renders the script for a plan. */
export function observeScript(plan: ObservePlan): string {
  const out: string[] = ["m=''"];
  plan.prerequisites.forEach((p, i) => out.push(`${check(p)} || m="$m,${i}"`));
  out.push(`printf '{"missing":[%s],"files":[' "\${m#,}"`);
  plan.files.forEach((f, i) =>
    out.push(`h=$(sha256sum ${shq(f)} 2>/dev/null | cut -c1-64); printf '${i ? "," : ""}"%s"' "$h"`),
  );
  out.push(`printf '],"services":['`);
  plan.components.forEach((c, i) => {
    out.push(`printf '${i ? "," : ""}{"state":'`);
    out.push(plan.supervisor.observeSnippet(c));
    out.push(
      `fp=$(tr -cd 0-9a-f 2>/dev/null < ${shq(fingerprintPath(c))} | cut -c1-64); printf ',"fingerprint":"%s"}' "$fp"`,
    );
  });
  const d = shq(plan.etcdDataDir);
  out.push(`dp=false; hm=false; [ -d ${d} ] && dp=true; [ -d ${d}/member ] && hm=true`);
  out.push(`printf '],"etcdData":{"present":%s,"hasMember":%s}}\\n' "$dp" "$hm"`);
  return out.join("\n") + "\n";
}
