import { describe, expect, it } from "vitest";
import { decideControlPlane } from "../../src/decide/k8s-control-plane.js";
import { K8S } from "../../src/k8s/layout.js";
import { APISERVER_STOP_TIMEOUT_S } from "../../src/k8s/render/apiserver.js";
import { driftedComponents } from "../../src/k8s/state.js";
import type { OpContext } from "../../src/ops/types.js";
import { fingerprintPath } from "../../src/supervisor/fingerprint.js";
import { runitSupervisor } from "../../src/supervisor/runit.js";
import { k8sDesired, k8sSpec, k8sStatusBuilder } from "./k8s-builder.js";
import { check, NOW, type K8sCase } from "./k8s-support.js";

const spec = k8sSpec(3, 2);
const desired = k8sDesired(spec);
const CPS = ["cp1", "cp2", "cp3"];
/** Binaries and files everywhere; nothing Kubernetes runs yet. */
const ready = () => k8sStatusBuilder(spec, desired).artifacts().files();
/** The whole control plane running as desired (node components not yet). */
const cpUp = () => ready().running(CPS, ["kube-apiserver", "kube-controller-manager", "kube-scheduler"]);

const cases: K8sCase[] = [
  {
    name: "fresh control plane: certificates and files on every control-plane node",
    spec,
    desired,
    status: k8sStatusBuilder(spec, desired).artifacts().build(),
    phase: "k8s-control-plane-files",
    ops: ["k8s-control-plane-files"],
    targets: [CPS],
  },
  {
    name: "bootstrap: no apiserver serves, so all start at once",
    spec,
    desired,
    status: ready().build(),
    phase: "k8s-apiserver-start",
    ops: ["k8s-kube-apiserver"],
    targets: [CPS],
  },
  {
    name: "apiserver unhealthy on one node → restart only it",
    spec,
    desired,
    status: cpUp().health("cp2", "kube-apiserver", false).build(),
    phase: "k8s-apiserver-start",
    ops: ["k8s-kube-apiserver"],
    targets: [["cp2"]],
    message: /cp2 \(unhealthy\); 2 other apiserver\(s\) keep serving/,
  },
  {
    name: "apiserver stopped on one node → start only it",
    spec,
    desired,
    status: cpUp().stopped("cp3", "kube-apiserver").build(),
    phase: "k8s-apiserver-start",
    ops: ["k8s-kube-apiserver"],
    targets: [["cp3"]],
  },
  {
    name: "two control-plane nodes outdated → one at a time",
    spec,
    desired,
    status: cpUp().fingerprint("cp1", "kube-apiserver", "old").fingerprint("cp3", "kube-apiserver", "old").build(),
    phase: "k8s-apiserver-update",
    ops: ["k8s-kube-apiserver"],
    targets: [["cp1"]],
    message: /one node at a time; then cp3/,
  },
  {
    name: "outdated apiserver while another is unhealthy: the unhealthy one is repaired first",
    spec,
    desired,
    status: cpUp().fingerprint("cp1", "kube-apiserver", "old").health("cp2", "kube-apiserver", false).build(),
    phase: "k8s-apiserver-start",
    ops: ["k8s-kube-apiserver"],
    targets: [["cp2"]],
  },
  {
    name: "outdated apiserver while a control-plane node does not answer: refused",
    spec,
    desired,
    status: cpUp().fingerprint("cp1", "kube-apiserver", "old").unreachable("cp3").build(),
    phase: "k8s-apiserver-update-aborted",
    ops: [],
    message: /cp3 does not answer over SSH/,
  },
  {
    name: "a stopped apiserver is repaired even while another node does not answer",
    spec,
    desired,
    status: cpUp().stopped("cp1", "kube-apiserver").unreachable("cp3").build(),
    phase: "k8s-apiserver-start",
    ops: ["k8s-kube-apiserver"],
    targets: [["cp1"]],
  },
  {
    name: "apiservers up: controller-manager and scheduler start on every node",
    spec,
    desired,
    status: ready().running(CPS, ["kube-apiserver"]).build(),
    phase: "k8s-controllers-start",
    ops: ["k8s-controllers"],
    targets: [CPS],
  },
  {
    name: "scheduler outdated on two nodes → one node at a time",
    spec,
    desired,
    status: cpUp().fingerprint("cp2", "kube-scheduler", "old").fingerprint("cp3", "kube-scheduler", "old").build(),
    phase: "k8s-controllers-update",
    ops: ["k8s-controllers"],
    targets: [["cp2"]],
  },
  {
    name: "a config file edited on a node is rewritten (and the component restarts afterwards)",
    spec,
    desired,
    status: cpUp().file("cp1", K8S.encryptionConfig, "0".repeat(64)).build(),
    phase: "k8s-control-plane-files",
    ops: ["k8s-control-plane-files"],
    targets: [["cp1"]],
  },
  {
    name: "no control-plane node answers",
    spec,
    desired,
    status: ready().unreachable("cp1").unreachable("cp2").unreachable("cp3").build(),
    phase: "k8s-control-plane-aborted",
    ops: [],
  },
];

describe("decide: Kubernetes control plane", () => {
  for (const c of cases) it(c.name, () => void check(c));

  it("the control plane as desired: the rung has nothing to do", () => {
    expect(decideControlPlane(spec, cpUp().build(), { now: NOW, desired, scope: "all" })).toBeUndefined();
  });

  it("an edited file makes its component forget its fingerprint before the rewrite", () => {
    const status = cpUp().file("cp1", K8S.encryptionConfig, "0".repeat(64)).build();
    const op = decideControlPlane(spec, status, { now: NOW, desired, scope: "all" })!.ops[0]!;
    const names: string[] = [];
    for (let c = op.nextCommand(); c; c = op.nextCommand()) names.push(`${c.name}@${c.target}`);
    expect(names).toEqual(["forget-fingerprints@cp1", "write-k8s-files@cp1"]);
    // Only the component that reads the edited file restarts; a renewed certificate restarts them all.
    const cp = ["kube-apiserver", "kube-controller-manager", "kube-scheduler"];
    expect(driftedComponents(status.nodes.cp1!, desired.k8s!.nodes.cp1!, cp)).toEqual(["kube-apiserver"]);
    const renewed = ready().running().file("cp2", "/etc/kubernetes/pki/ca.crt", "1".repeat(64)).build();
    const all = [...cp, "kubelet", "kube-proxy"];
    expect(driftedComponents(renewed.nodes.cp2!, desired.k8s!.nodes.cp2!, all)).toEqual(all);
  });
});

describe("certificate renewal on a control-plane node", () => {
  it("the files op forgets every component's fingerprint there, the kubelet's included", async () => {
    const status = ready().running().file("cp2", "/etc/kubernetes/pki/ca.crt", "1".repeat(64)).build();
    const op = decideControlPlane(spec, status, { now: NOW, desired, scope: "all" })!.ops[0]!;
    const scripts: string[] = [];
    const ctx = {
      shell: {
        run: async (_n: string, _c: string, o?: { stdin?: string }) => (scripts.push(o?.stdin ?? ""), ""),
      },
    } as unknown as OpContext;
    await op.nextCommand()!.run(ctx);
    for (const c of ["kube-apiserver", "kube-scheduler", "kubelet", "kube-proxy"])
      expect(scripts[0]).toContain(fingerprintPath(c));
  });
});

describe("rolling apiserver restarts", () => {
  it("the restart kills an old apiserver still running APISERVER_STOP_TIMEOUT_S after TERM, not after a minute", async () => {
    const status = cpUp().fingerprint("cp1", "kube-apiserver", "old").build();
    // A lab node's supervisor (runit) takes the bound from the restart; systemd from the unit (goldens).
    const k8s = desired.k8s!;
    const runit = {
      ...desired,
      k8s: { ...k8s, nodes: { ...k8s.nodes, cp1: { ...k8s.nodes.cp1!, supervisor: runitSupervisor() } } },
    };
    const op = decideControlPlane(spec, status, { now: NOW, desired: runit, scope: "all" })!.ops[0]!;
    const scripts: string[] = [];
    const ctx = {
      shell: {
        run: async (_n: string, c: string, o?: { stdin?: string }) => (scripts.push(o?.stdin ?? c), "ok"),
        upload: async () => undefined,
      },
      sleep: async () => undefined,
      now: () => NOW,
    } as unknown as OpContext;
    await op.nextCommand()!.run(ctx);
    expect(scripts[0]).toContain(`did not exit within ${APISERVER_STOP_TIMEOUT_S} s of TERM: killing it`);
    expect(APISERVER_STOP_TIMEOUT_S).toBeLessThan(60);
  });
});
