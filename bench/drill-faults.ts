/**
 * The faults of bench/drill.ts and the checks that say each one is repaired. A fault is injected
 * on a lab node over SSH (or, for a node crash, by killing its PID 1 and booting it again); a
 * check looks at what a person would: the service running again under a new pid and answering its
 * health endpoint, the file restored and valid, the Node Ready, the etcd member healthy and voting.
 */
import { onNode, etcdctl } from "../test/support/lab-cli.js";
import { shq } from "../src/infra/shell.js";
import type { KubeApi } from "../src/infra/kube-types.js";

/** A lab node of the drill. */
export interface DrillNode {
  readonly name: string;
  readonly address: string;
  readonly role: "control-plane" | "worker";
}

/** What the faults act through. */
export interface DrillWorld {
  readonly state: string;
  readonly env: string;
  readonly nodes: readonly DrillNode[];
  /** One API client per control-plane node. */
  readonly apis: readonly KubeApi[];
  /** Kills a lab node's PID 1 and boots it again (lab up). */
  restartNode(node: DrillNode): Promise<void>;
}

/** The result of a check: whether it holds and what was seen. */
export interface Seen {
  readonly ok: boolean;
  readonly seen: string;
}

/** One fault, injected and checked. */
export interface Fault {
  readonly kind: string;
  readonly node: string;
  /** What was done, for the report. */
  readonly detail: string;
  check(): Promise<Seen>;
}

/** Picks from a list with the drill's seeded random source. */
export type Pick = <T>(xs: readonly T[]) => T;

const CP_SERVICES = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"];
const NODE_SERVICES = ["containerd", "kubelet", "kube-proxy"];
/** Services yagura runs on a node of this role. */
export const servicesOf = (n: DrillNode) =>
  n.role === "control-plane" ? [...CP_SERVICES, ...NODE_SERVICES] : NODE_SERVICES;

/** The health command of a service on its node (prints ok when healthy). */
const HEALTH: Record<string, string> = {
  "kube-apiserver": "curl -s -m 3 --cacert /etc/kubernetes/pki/ca.crt https://127.0.0.1:6443/readyz",
  "kube-controller-manager": "curl -sk -m 3 https://127.0.0.1:10257/healthz",
  "kube-scheduler": "curl -sk -m 3 https://127.0.0.1:10259/healthz",
  kubelet: "curl -s -m 3 http://127.0.0.1:10248/healthz",
  "kube-proxy": "curl -s -m 3 http://127.0.0.1:10249/proxyMode | grep -q . && echo ok",
  containerd: "timeout 5 ctr version >/dev/null && echo ok",
};

async function sh(w: DrillWorld, n: DrillNode, cmd: string): Promise<{ code: number | null; out: string }> {
  const r = await onNode(w.state, w.env, n.address, cmd).catch((e: Error) => ({
    code: -1,
    stdout: "",
    stderr: e.message,
  }));
  return { code: r.code, out: `${r.stdout}${r.stderr}`.trim() };
}

/** Runs `cmd` on `n` and throws when it fails (an injection that did not happen is no fault). */
async function must(w: DrillWorld, n: DrillNode, cmd: string): Promise<string> {
  const r = await sh(w, n, cmd);
  if (r.code !== 0) throw new Error(`${n.name}: ${cmd}: exit ${r.code}: ${r.out.slice(0, 300)}`);
  return r.out;
}

const pidOf = (svc: string) => `cat /etc/service/${svc}/supervise/pid`;

/** The etcd member on `n` answers health and is a started voting member. */
export async function etcdMemberHealthy(w: DrillWorld, n: DrillNode): Promise<Seen> {
  const url = `https://${n.address}:2379`;
  const h = etcdctl(w.state, w.env, [url], ["endpoint", "health"]);
  if (h.code !== 0) return { ok: false, seen: `etcd on ${n.name}: ${h.out.trim().slice(0, 200)}` };
  const l = etcdctl(w.state, w.env, [url], ["member", "list"]);
  const line = l.out.split("\n").find((x) => x.split(", ")[2] === n.name);
  if (!line || !/, started, /.test(line) || /, true$/.test(line.trim()))
    return { ok: false, seen: `etcd member ${n.name}: ${line ?? "not listed"}` };
  return { ok: true, seen: "etcd member healthy and voting" };
}

/** Every service yagura runs on `n` is up and healthy; a control-plane node's etcd member too. */
export async function nodeHealthy(w: DrillWorld, n: DrillNode): Promise<Seen> {
  const svcs = servicesOf(n);
  const cmd = svcs
    .map(
      (s) =>
        `printf '%s %s %s\\n' ${shq(s)} "$(sv status /etc/service/${s} | cut -c1-4)" "$(${HEALTH[s] ?? "echo ok"} 2>/dev/null)"`,
    )
    .join("; ");
  const r = await sh(w, n, cmd);
  if (r.code !== 0) return { ok: false, seen: `${n.name}: ${r.out.slice(0, 200)}` };
  const bad = r.out.split("\n").filter((l) => !/^\S+ run: ok$/.test(l.trim()));
  if (bad.length) return { ok: false, seen: `${n.name}: ${bad.join("; ").slice(0, 300)}` };
  return n.role === "control-plane" ? etcdMemberHealthy(w, n) : { ok: true, seen: "all services healthy" };
}

/** The Node is Ready=True, as any apiserver that answers says. */
export async function nodeReady(w: DrillWorld, n: DrillNode): Promise<Seen> {
  for (const api of w.apis) {
    try {
      const node = (await api.listNodes()).find((x) => x.name === n.name);
      const ready = node?.conditions["Ready"];
      return { ok: ready === "True", seen: `Node ${n.name} Ready=${ready ?? "absent"}` };
    } catch {
      // Try the next apiserver.
    }
  }
  return { ok: false, seen: "no apiserver answered" };
}

const all = async (...checks: (() => Promise<Seen>)[]): Promise<Seen> => {
  for (const c of checks) {
    const s = await c();
    if (!s.ok) return s;
  }
  return { ok: true, seen: "ok" };
};

/** kill -9 of `svc` on a node that runs it; repaired when it runs under another pid and is healthy. */
async function killService(w: DrillWorld, pick: Pick, svc: string): Promise<Fault> {
  const n = pick(w.nodes.filter((x) => servicesOf(x).includes(svc)));
  const old = await must(w, n, pidOf(svc));
  await must(w, n, `kill -9 ${shq(old)}`);
  return {
    kind: `kill -9 ${svc}`,
    node: n.name,
    detail: `pid ${old}`,
    check: () =>
      all(
        async () => {
          const now = (await sh(w, n, pidOf(svc))).out;
          return { ok: /^\d+$/.test(now) && now !== old, seen: `${svc} pid ${now || "none"} (killed ${old})` };
        },
        () => nodeHealthy(w, n),
      ),
  };
}

/** A certificate or kubeconfig deleted or overwritten; repaired when it is back, valid, and the node healthy. */
async function damageFile(w: DrillWorld, pick: Pick, how: "delete" | "corrupt", what: "cert" | "kubeconfig") {
  const n = pick(w.nodes);
  const list = await must(
    w,
    n,
    what === "cert"
      ? "ls /etc/kubernetes/pki/*.crt /etc/kubernetes/pki/etcd/*.crt 2>/dev/null; true"
      : "ls /etc/kubernetes/*.kubeconfig",
  );
  const file = pick(list.split("\n").filter(Boolean));
  await must(w, n, how === "delete" ? `rm -f ${shq(file)}` : `printf 'corrupted by the drill\\n' > ${shq(file)}`);
  const valid =
    what === "cert"
      ? `openssl x509 -noout -in ${shq(file)} && echo valid`
      : `grep -q '^clusters:' ${shq(file)} && grep -q '^users:' ${shq(file)} && echo valid`;
  return {
    kind: `${how === "delete" ? "deleted" : "corrupted"} ${what === "cert" ? "certificate" : "kubeconfig"}`,
    node: n.name,
    detail: file,
    check: () =>
      all(
        async () => {
          const r = await sh(w, n, valid);
          return { ok: r.out.endsWith("valid"), seen: `${file}: ${r.out.slice(0, 200) || "missing"}` };
        },
        () => nodeHealthy(w, n),
      ),
  };
}

/** A line appended to a run script; repaired when the line is gone and the node healthy. */
async function editRunScript(w: DrillWorld, pick: Pick, n = pick(w.nodes)): Promise<Fault> {
  const svc = pick(servicesOf(n));
  const file = `/etc/yagura/sv/${svc}/run`;
  const mark = `# edited by the drill ${Date.now()}`;
  await must(w, n, `echo ${shq(mark)} >> ${shq(file)}`);
  return {
    kind: "edited run script",
    node: n.name,
    detail: file,
    check: () =>
      all(
        async () => {
          const r = await sh(w, n, `grep -c ${shq(mark)} ${shq(file)}; true`);
          return { ok: r.out.trim() === "0", seen: `${file}: ${r.out.trim()} edited line(s) left` };
        },
        () => nodeHealthy(w, n),
      ),
  };
}

/** A lab node's PID 1 killed and the node booted again; repaired when it is Ready and healthy. */
async function crashNode(w: DrillWorld, pick: Pick): Promise<Fault> {
  const n = pick(w.nodes);
  await w.restartNode(n);
  return {
    kind: "node killed and started",
    node: n.name,
    detail: "SIGKILL of PID 1, lab up",
    check: () =>
      all(
        () => nodeReady(w, n),
        () => nodeHealthy(w, n),
      ),
  };
}

/** An etcd member's data wiped; repaired when the member is healthy and voting again. */
async function wipeEtcd(w: DrillWorld, pick: Pick): Promise<Fault> {
  const n = pick(w.nodes.filter((x) => x.role === "control-plane"));
  await must(w, n, "sv -w 30 down /etc/service/etcd; rm -rf /var/lib/etcd/member");
  return { kind: "etcd data wiped", node: n.name, detail: "/var/lib/etcd/member", check: () => nodeHealthy(w, n) };
}

const kill = (svc: string) => (w: DrillWorld, p: Pick) => killService(w, p, svc);

/** The node-side faults, by kind (each printed under its key); the drill adds the watch's own SIGKILL. */
export const FAULTS = {
  ...Object.fromEntries([...CP_SERVICES, ...NODE_SERVICES].map((s) => [`kill -9 ${s}`, kill(s)])),
  "deleted certificate": (w: DrillWorld, p: Pick) => damageFile(w, p, "delete", "cert"),
  "corrupted certificate": (w: DrillWorld, p: Pick) => damageFile(w, p, "corrupt", "cert"),
  "deleted kubeconfig": (w: DrillWorld, p: Pick) => damageFile(w, p, "delete", "kubeconfig"),
  "corrupted kubeconfig": (w: DrillWorld, p: Pick) => damageFile(w, p, "corrupt", "kubeconfig"),
  "edited run script": (w: DrillWorld, p: Pick) => editRunScript(w, p),
  "node killed and started": crashNode,
  "etcd data wiped": wipeEtcd,
} as const;

export { editRunScript };
