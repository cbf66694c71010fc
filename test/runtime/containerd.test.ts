import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { clusterSpec } from "../../src/cluster/spec.js";
import { inventorySchema } from "../../src/inventory/schema.js";
import { CONTAINERD_PATHS, renderContainerd, runtimePrerequisites } from "../../src/runtime/containerd.js";

function spec(extra: Record<string, unknown> = {}, kind = "lab") {
  const inv = inventorySchema.parse({
    cluster: { name: "t", kubernetesVersion: "1.33.5" },
    staticNodes: [{ name: "n1", address: "10.79.0.11", role: "control-plane", kind }],
    ...extra,
  });
  return clusterSpec("t", inv);
}
const file = (s: ReturnType<typeof spec>, path: string) =>
  renderContainerd(s, s.nodes[0]!).files.find((f) => f.path === path)!.content;

describe("containerd's rendering", () => {
  it("a lab node: cgroupfs, no negative oom_score_adj, Debian's CNI plugins with the bridge network", () => {
    const s = spec({ networking: { cni: "bridge" } });
    const cfg = file(s, CONTAINERD_PATHS.config);
    expect(cfg).toContain("restrict_oom_score_adj = true");
    expect(cfg).toContain("SystemdCgroup = false");
    expect(cfg).toContain('bin_dir = "/usr/lib/cni"');
    expect(cfg).toContain('sandbox_image = "registry.k8s.io/pause:3.9"');
    // Under runit: a run script that execs the start script, and its log service.
    const files = renderContainerd(s, s.nodes[0]!).files.map((f) => f.path);
    expect(files).toEqual(
      expect.arrayContaining([
        "/etc/yagura/sv/containerd/run",
        "/etc/yagura/sv/containerd/log/run",
        CONTAINERD_PATHS.start,
      ]),
    );
  });

  it("a VM with Calico: systemd cgroups, oom_score_adj left alone, Calico's plugin dir, a notify unit", () => {
    const s = spec({}, "vm");
    const cfg = file(s, CONTAINERD_PATHS.config);
    expect(cfg).not.toContain("restrict_oom_score_adj");
    expect(cfg).toContain("SystemdCgroup = true");
    expect(cfg).toContain('bin_dir = "/opt/cni/bin"');
    expect(file(s, "/etc/systemd/system/containerd.service")).toMatch(
      /Type=notify[\s\S]*ExecStart=\/etc\/yagura\/containerd\/start\.sh/,
    );
  });

  it("inventory values reach the start script quoted, and the script is valid sh", () => {
    const s = spec({ runtime: { imagesDir: "/opt/my images/$(reboot)", containerd: "/usr/local/bin/containerd" } });
    const start = file(s, CONTAINERD_PATHS.start);
    expect(start).toContain("'/opt/my images/$(reboot)'/*.tar");
    expect(start).toMatch(/exec '?\/usr\/local\/bin\/containerd'? --config '?\/etc\/containerd\/config.toml'?\n/);
    const r = spawnSync("sh", ["-n"], { input: start, encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
  });

  it("a changed setting changes the fingerprint (so the rung restarts containerd)", () => {
    const a = renderContainerd(spec(), spec().nodes[0]!).fingerprint;
    const b = renderContainerd(
      spec({ runtime: { sandboxImage: "example.org/pause:3.10" } }),
      spec().nodes[0]!,
    ).fingerprint;
    expect(a).not.toBe(b);
  });

  it("prerequisites: containerd, ctr and runc; the bridge plugins only with the bridge network; all Kubernetes-only", () => {
    const calico = runtimePrerequisites(spec()).map((p) => p.path);
    expect(calico).toEqual(["/usr/bin/containerd", "ctr", "runc"]);
    const bridge = runtimePrerequisites(spec({ networking: { cni: "bridge" } })).map((p) => p.path);
    expect(bridge).toEqual(
      expect.arrayContaining([
        "/usr/lib/cni/bridge",
        "/usr/lib/cni/host-local",
        "/usr/lib/cni/loopback",
        "/usr/lib/cni/portmap",
        "ip",
      ]),
    );
    expect(runtimePrerequisites(spec()).every((p) => p.kubernetes)).toBe(true);
  });
});
