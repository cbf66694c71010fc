import { describe, expect, it } from "vitest";
import { CONTAINERD_PATHS } from "../../src/runtime/containerd.js";
import { k8sDesired, k8sSpec, k8sStatusBuilder } from "./k8s-builder.js";
import { check, type K8sCase } from "./k8s-support.js";

const spec = k8sSpec(3, 2, { maxConcurrentUpdates: 2 });
const desired = k8sDesired(spec);
/** Everything else in place, so only the runtime rung can have work. */
const done = () => k8sStatusBuilder(spec, desired).complete();
const FP = desired.k8s!.nodes["w1"]!.runtime.fingerprint;
/** The runtime's files as desired on these nodes. */
function withFiles(b: ReturnType<typeof done>, nodes: string[]) {
  for (const n of nodes) for (const f of desired.k8s!.nodes[n]!.runtime.files) b.file(n, f.path, f.sha256);
  return b;
}

const cases: K8sCase[] = [
  {
    name: "a node without containerd: the Kubernetes rungs stop naming what to install",
    spec,
    desired,
    status: done().runtime("w2", undefined, ["/usr/bin/containerd (containerd (1.6 or later))", "runc (runc)"]).build(),
    phase: "runtime-prerequisites-missing",
    ops: [],
    message: /^w2: install \/usr\/bin\/containerd \(containerd \(1\.6 or later\)\), runc \(runc\)$/,
  },
  {
    name: "fresh nodes: containerd's config and start script first",
    spec,
    desired,
    status: done().runtime("w1", undefined).runtime("cp2", undefined).build(),
    phase: "runtime-files",
    ops: ["runtime-files"],
    targets: [["cp2", "w1"]],
  },
  {
    name: "files in place, containerd never started: started on every such node at once",
    spec,
    desired,
    status: withFiles(done().runtime("w1", undefined).runtime("w2", undefined), ["w1", "w2"]).build(),
    phase: "runtime-containerd",
    ops: ["runtime-containerd"],
    targets: [["w1", "w2"]],
    message: /^starting containerd on w1 \(absent\), w2 \(absent\)$/,
  },
  {
    name: "a stopped containerd (kill -9 and its supervisor gave up, or sv down) is started, all nodes at once",
    spec,
    desired,
    status: done().runtime("w1", { running: false, fingerprint: FP }).runtime("cp1", { running: false }).build(),
    phase: "runtime-containerd",
    ops: ["runtime-containerd"],
    targets: [["cp1", "w1"]],
    message: /^starting containerd on cp1 \(stopped\), w1 \(stopped\)$/,
  },
  {
    name: "an outdated containerd is restarted in batches of maxConcurrentUpdates",
    spec,
    desired,
    status: done()
      .runtime("cp1", { running: true, fingerprint: "old" })
      .runtime("cp2", { running: true, fingerprint: "old" })
      .runtime("w1", { running: true, fingerprint: "old" })
      .build(),
    phase: "runtime-containerd",
    ops: ["runtime-containerd"],
    targets: [["cp1", "cp2"]],
    message: /1 more node\(s\) in later batches of 2/,
  },
  {
    name: "an edited config under a running containerd: rewritten, and the fingerprint forgotten",
    spec,
    desired,
    status: done().file("w2", CONTAINERD_PATHS.config, "f".repeat(64)).build(),
    phase: "runtime-files",
    ops: ["runtime-files"],
    targets: [["w2"]],
  },
];

describe("decide: the container runtime rung", () => {
  it.each(cases)("$name", (c) => {
    check(c);
  });

  it("an unreachable node does not hold back the others' runtime", () => {
    const d = check({
      name: "",
      spec,
      desired,
      status: done().unreachable("w2").runtime("w1", { running: false }).build(),
      phase: "runtime-containerd",
      ops: ["runtime-containerd"],
      targets: [["w1"]],
    });
    expect(d.message).not.toMatch(/w2/);
  });

  it("a missing runtime never holds back etcd: scope etcd completes", async () => {
    const { decide } = await import("../../src/decide/index.js");
    const status = done().runtime("cp1", undefined, ["runc (runc)"]).build();
    expect(decide(spec, status, { now: new Date(), desired, scope: "etcd" }).phase).toBe("completed");
  });
});
