/**
 * The k8s-artifacts op against a fake node shell: each local file is read once however many nodes
 * need it, a bounded number of uploads run at once over all nodes, every binary is checked on its
 * node after its upload, and a binary that still does not match fails the op with the message that
 * names the file, the checksum and the setting, after the other installs have finished.
 */
import { describe, expect, it } from "vitest";
import type { ArtifactPlan, Component } from "../../../src/k8s/artifacts.js";
import type { NodeShell } from "../../../src/infra/types.js";
import {
  ARTIFACT_UPLOADS_AT_ONCE,
  installArtifactsOp,
  installOrder,
  sharedReader,
  type ArtifactTarget,
} from "../../../src/ops/k8s/artifacts.js";
import type { OpContext } from "../../../src/ops/types.js";

const SHA = "a".repeat(64);
const plan = (name: Component): ArtifactPlan => ({
  name,
  version: "v1.33.5",
  sha256: SHA,
  nodePath: `/opt/yagura/bin/${name}`,
  origin: { kind: "local", path: `/srv/kube-bin/${name}`, via: "artifacts.localDir" },
});
const CP: Component[] = ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy"];
const targets: ArtifactTarget[] = [
  ...["cp1", "cp2", "cp3"].map((node) => ({ node, plans: CP.map(plan) })),
  ...["w1", "w2", "w3", "w4"].map((node) => ({ node, plans: [plan("kubelet"), plan("kube-proxy")] })),
];

/** A shell whose uploads take a moment; `wrong` names node:path pairs whose check reports a mismatch. */
function fakeShell(wrong: ReadonlySet<string> = new Set()) {
  const log: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const uploaded = new Map<string, Buffer>();
  const nope = () => {
    throw new Error("not implemented");
  };
  const shell = {
    roundTrips: new Map(),
    exec: nope,
    close: async () => undefined,
    upload: async (node: string, path: string, content: string | Buffer, o: { mode: number }) => {
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      expect(o.mode).toBe(0o755);
      await new Promise((r) => setTimeout(r, 2));
      uploaded.set(`${node}:${path}`, Buffer.from(content));
      log.push(`upload ${node}:${path}`);
      inFlight--;
    },
    run: async (node: string, command: string) => {
      const path = /\/opt\/yagura\/bin\/[a-z-]+/.exec(command)![0];
      log.push(`check ${node}:${path}`);
      return wrong.has(`${node}:${path}`) ? `mismatch ${"b".repeat(64)}\n` : "ok\n";
    },
  } satisfies NodeShell;
  return { shell, log, uploaded, maxInFlight: () => maxInFlight };
}

function reads() {
  const count = new Map<string, number>();
  const readFile = async (path: string) => {
    count.set(path, (count.get(path) ?? 0) + 1);
    return Buffer.from(`binary at ${path}`);
  };
  return { count, readFile };
}

async function runOp(shell: NodeShell, o: Parameters<typeof installArtifactsOp>[1]) {
  const ctx = { shell } as unknown as OpContext;
  const op = installArtifactsOp(targets, o);
  expect(op.name).toBe("k8s-artifacts");
  expect(op.targets).toEqual(["cp1", "cp2", "cp3", "w1", "w2", "w3", "w4"]);
  for (let c = op.nextCommand(); c; c = op.nextCommand()) await c.run(ctx);
}

describe("installOrder", () => {
  it("groups the installs by binary, each group in node order", () => {
    const order = installOrder(targets).map((x) => `${x.plan.name}@${x.node}`);
    expect(order.slice(0, 4)).toEqual([
      "kube-apiserver@cp1",
      "kube-apiserver@cp2",
      "kube-apiserver@cp3",
      "kube-controller-manager@cp1",
    ]);
    expect(order.slice(-7)).toEqual([
      "kube-proxy@cp1",
      "kube-proxy@cp2",
      "kube-proxy@cp3",
      ...["w1", "w2", "w3", "w4"].map((n) => `kube-proxy@${n}`),
    ]);
    expect(order).toHaveLength(3 * 5 + 4 * 2);
  });
});

describe("sharedReader", () => {
  it("reads a file once for its expected uses, then lets it go", async () => {
    const r = reads();
    const read = sharedReader(new Map([["/srv/kube-bin/kubelet", 3]]), r.readFile);
    const got = await Promise.all([1, 2, 3].map(() => read("/srv/kube-bin/kubelet")));
    expect(got[0]).toBe(got[2]);
    expect(r.count.get("/srv/kube-bin/kubelet")).toBe(1);
    await read("/srv/kube-bin/kubelet"); // past its uses: not held any more, so read again
    expect(r.count.get("/srv/kube-bin/kubelet")).toBe(2);
  });
});

describe("installArtifactsOp", () => {
  it("reads each local file once, keeps a few uploads in flight, and checks each binary after its upload", async () => {
    const f = fakeShell();
    const r = reads();
    await runOp(f.shell, { readFile: r.readFile });
    expect([...r.count.values()]).toEqual([1, 1, 1, 1, 1]);
    expect(f.maxInFlight()).toBe(ARTIFACT_UPLOADS_AT_ONCE);
    for (const t of targets)
      for (const p of t.plans) {
        const key = `${t.node}:${p.nodePath}`;
        expect(f.uploaded.get(key)?.toString()).toBe(`binary at /srv/kube-bin/${p.name}`);
        expect(f.log.indexOf(`check ${key}`)).toBeGreaterThan(f.log.indexOf(`upload ${key}`));
      }
    expect(f.log.filter((l) => l.startsWith("check"))).toHaveLength(23);
  });

  it("honours a smaller bound", async () => {
    const f = fakeShell();
    await runOp(f.shell, { readFile: reads().readFile, concurrency: 1 });
    expect(f.maxInFlight()).toBe(1);
  });

  it("finishes the other installs, then fails with the file, the checksum and the setting to change", async () => {
    const f = fakeShell(new Set(["w2:/opt/yagura/bin/kubelet"]));
    const err = await runOp(f.shell, { readFile: reads().readFile }).catch((e: unknown) => e);
    expect((err as Error).message).toBe(
      `/opt/yagura/bin/kubelet on w2 has sha256 ${"b".repeat(64)}; expected kubelet v1.33.5 with sha256 ${SHA}: ` +
        "put kubelet v1.33.5 at /srv/kube-bin/kubelet (set by artifacts.localDir), or correct artifacts.binaries.kubelet.sha256",
    );
    expect(f.log.filter((l) => l.startsWith("check"))).toHaveLength(23);
  });

  it("fails every install of a local file that cannot be read, naming it", async () => {
    const f = fakeShell();
    const readFile = async (path: string) => {
      if (path.endsWith("/kube-scheduler")) throw new Error(`ENOENT: no such file or directory, open '${path}'`);
      return Buffer.from("x");
    };
    await expect(runOp(f.shell, { readFile })).rejects.toThrow(/kube-scheduler/);
    expect(f.log.some((l) => l.includes("kube-scheduler"))).toBe(false);
    expect(f.log.filter((l) => l.startsWith("upload"))).toHaveLength(23 - 3);
  });
});
