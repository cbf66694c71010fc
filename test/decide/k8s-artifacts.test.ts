import { describe, expect, it } from "vitest";
import { decideArtifacts } from "../../src/decide/k8s-artifacts.js";
import { k8sDesired, k8sSpec, k8sStatusBuilder } from "./k8s-builder.js";
import { check, NOW, type K8sCase } from "./k8s-support.js";

const spec = k8sSpec(3, 2);
const desired = k8sDesired(spec);
const b = () => k8sStatusBuilder(spec, desired);
const mirror = k8sSpec(1, 1, { source: "mirror" });
const image = k8sSpec(1, 1, { source: "image" });
const OTHER = "f".repeat(64);

const cases: K8sCase[] = [
  {
    name: "fresh nodes: every binary is installed, on every node at once",
    spec,
    desired,
    status: b().build(),
    phase: "k8s-artifacts",
    ops: ["k8s-artifacts"],
    targets: [["cp1", "cp2", "cp3", "w1", "w2"]],
    message: /installing 19 binaries/,
  },
  {
    name: "one wrong binary on one node: only that node",
    spec,
    desired,
    status: b().artifacts().artifact("w2", "kubelet", { state: "mismatch", actual: OTHER }).build(),
    phase: "k8s-artifacts",
    ops: ["k8s-artifacts"],
    targets: [["w2"]],
    message: /1 binary on w2/,
  },
  {
    name: "a local binary that is wrong on this machine stops the ladder with the file, checksum and setting",
    spec,
    desired: k8sDesired(spec, { kubelet: "/srv/kube-bin/kubelet does not exist on this machine" }),
    status: b().artifacts().artifact("w1", "kubelet", { state: "missing" }).build(),
    phase: "k8s-artifacts-missing",
    ops: [],
    message:
      /\/opt\/yagura\/bin\/kubelet is missing on w1; expected kubelet v1\.33\.5 with sha256 d{64}.*\/srv\/kube-bin\/kubelet does not exist/,
  },
  {
    name: "mirror source: the nodes download what they miss",
    spec: mirror,
    desired: k8sDesired(mirror),
    status: k8sStatusBuilder(mirror, k8sDesired(mirror)).artifacts(["cp1"]).build(),
    phase: "k8s-artifacts",
    ops: ["k8s-artifacts"],
    targets: [["w1"]],
  },
  {
    name: "image source: a missing binary cannot be installed, the node image must change",
    spec: image,
    desired: k8sDesired(image),
    status: k8sStatusBuilder(image, k8sDesired(image))
      .artifacts()
      .artifact("cp1", "kube-apiserver", { state: "mismatch", actual: OTHER })
      .build(),
    phase: "k8s-artifacts-missing",
    ops: [],
    message: /kube-apiserver on cp1 has sha256 f{64}; expected .* bake kube-apiserver v1\.33\.5 into the node image/,
  },
];

describe("decide: Kubernetes artifacts", () => {
  for (const c of cases) it(c.name, () => void check(c));

  it("an unreachable node is skipped, not guessed at", () => {
    const status = b().artifacts(["cp1", "cp2", "cp3", "w1"]).unreachable("w2").build();
    expect(decideArtifacts(spec, status, { now: NOW, desired, scope: "all" })).toBeUndefined();
  });

  it("every binary present: nothing to do", () => {
    expect(decideArtifacts(spec, b().artifacts().build(), { now: NOW, desired, scope: "all" })).toBeUndefined();
  });

  it("without Kubernetes material the rung says so instead of passing", () => {
    const d = decideArtifacts(spec, b().build(), { now: NOW, desired: { ...desired, k8s: undefined }, scope: "all" });
    expect(d?.phase).toBe("k8s-material-missing");
  });
});
