/**
 * Small real programs standing in for the Kubernetes binaries in the lab test (the real ones are
 * not on this machine). Each checks that every file its flags name exists on the node, so a flag
 * pointing at a file yagura did not write fails the start; the apiserver stand-in also serves
 * /readyz over TLS with the serving certificate and key yagura issued, on the flags' port.
 */
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const FILE_FLAG = /^--(.*-file|config|kubeconfig|.*-kubeconfig|client-ca-file|.*cafile|.*certfile|.*keyfile)=/;

/** sh: exits 2 naming the first flag whose file is missing, else sleeps as a daemon would. */
function shDaemon(name: string): string {
  return [
    "#!/bin/sh",
    `# stand-in for ${name}: every file named by a flag must exist`,
    'for a in "$@"; do',
    '  case "$a" in',
    "    --*-file=*|--config=*|--kubeconfig=*|--*-kubeconfig=*|--*cafile=*|--*certfile=*|--*keyfile=*)",
    '      f="${a#*=}"; [ -r "$f" ] || { echo "' + name + ': $a: no such file" >&2; exit 2; } ;;',
    "  esac",
    "done",
    "exec sleep 100000",
    "",
  ].join("\n");
}

/** node: the apiserver stand-in. */
function apiserver(nodeBin: string): string {
  return `#!${nodeBin}
// stand-in for kube-apiserver: checks its file flags, then serves GET /readyz = ok over TLS
const { readFileSync, accessSync } = require("node:fs");
const https = require("node:https");
const re = ${FILE_FLAG.toString()};
const flags = {};
for (const a of process.argv.slice(2)) {
  const i = a.indexOf("=");
  if (!a.startsWith("--") || i < 0) continue;
  flags[a.slice(2, i)] = a.slice(i + 1);
  // The etcd CA is written by the etcd rung, which the lab test of these ops does not run.
  if (re.test(a) && !a.startsWith("--etcd-cafile=")) accessSync(a.slice(i + 1));
}
https
  .createServer({ cert: readFileSync(flags["tls-cert-file"]), key: readFileSync(flags["tls-private-key-file"]) }, (q, r) =>
    r.end(q.url === "/readyz" ? "ok" : "{}"),
  )
  .listen(Number(flags["secure-port"]), flags["bind-address"]);
`;
}

/** Writes the five stand-ins into `dir` (0755) and returns their paths by binary name. */
export function writeFakeBins(dir: string, nodeBin = process.execPath): Record<string, string> {
  const out: Record<string, string> = {};
  const put = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    chmodSync(p, 0o755);
    out[name] = p;
  };
  put("kube-apiserver", apiserver(nodeBin));
  for (const n of ["kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy"]) put(n, shDaemon(n));
  return out;
}
