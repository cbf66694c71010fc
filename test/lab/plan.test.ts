/** The lab's pure parts: inventory checks, host names, the OCI image layout, runit status lines. */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { UserError } from "../../src/cli/errors.js";
import { labNames, labPrerequisites, parseSvStatus } from "../../src/lab/index.js";
import { planLab } from "../../src/lab/preflight.js";
import { ociImage } from "../../src/lab/pause.js";
import type { ClusterSpec } from "../../src/cluster/spec.js";
import { labInventory, specFrom } from "./helpers.js";

const base = specFrom(
  "plan",
  labInventory("ygt1plan", "10.78.1.0/24", [
    ["a", "10.78.1.11", "control-plane"],
    ["b", "10.78.1.12", "control-plane"],
    ["c", "10.78.1.13", "control-plane"],
  ]),
);

// In-memory specs (as another engineer's test may build them): the lab checks them itself.
const three = (a: string, b: string, c: string): ClusterSpec => ({
  ...base,
  nodes: base.nodes.map((n, i) => ({ ...n, address: [a, b, c][i]! })),
});

function problems(spec: ClusterSpec, root = "/srv/yagura"): string {
  try {
    planLab(spec, root);
  } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    return [(err as UserError).message, ...(err as UserError).details].join("\n");
  }
  throw new Error("planLab accepted it");
}

describe("planLab", () => {
  it("plans the bridge on the first address and keeps the nodes", () => {
    const p = planLab(base, "/srv/yagura");
    expect(p).toMatchObject({ bridge: "ygt1plan", bridgeAddress: "10.78.1.1", prefix: 24, cidr: "10.78.1.0/24" });
    expect(p.nodes.map((n) => n.address)).toEqual(["10.78.1.11", "10.78.1.12", "10.78.1.13"]);
  });

  it.each([
    [
      "outside lab.cidr",
      three("10.78.1.11", "10.78.2.12", "10.78.1.13"),
      /10\.78\.2\.12 is not a host address in lab\.cidr/,
    ],
    ["the bridge's address", three("10.78.1.1", "10.78.1.12", "10.78.1.13"), /is the bridge's/],
    ["the broadcast address", three("10.78.1.255", "10.78.1.12", "10.78.1.13"), /not a host address/],
    [
      "shared by two nodes",
      three("10.78.1.11", "10.78.1.12", "10.78.1.11"),
      /nodes a and c share the address 10\.78\.1\.11/,
    ],
  ])("refuses an address %s", (_what, spec, re) => expect(problems(spec)).toMatch(re));

  it("refuses a state dir under a tree every node overlays", () => {
    expect(problems(base, "/home/me/.yagura")).toMatch(/lies under \/home/);
  });

  it("refuses an inventory without static nodes", () => {
    expect(problems({ ...base, nodes: [] })).toMatch(/no static nodes/);
  });
});

describe("labPrerequisites", () => {
  it("names the Debian package of every missing tool", () => {
    const empty = mkdtempSync(join(tmpdir(), "yagura-nopath-"));
    try {
      const p = labPrerequisites(empty).join("\n");
      for (const [tool, pkg] of [
        ["ip", "iproute2"],
        ["sshd", "openssh-server"],
        ["runsvdir", "runit"],
        ["unshare", "util-linux"],
        ["nsenter", "util-linux"],
      ]) {
        expect(p).toContain(`\`${tool}\` is missing: install the Debian package ${pkg}`);
      }
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

describe("labNames", () => {
  it("gives short, lab-specific interface names", () => {
    const a = labNames("/srv/yagura/a/lab");
    const b = labNames("/srv/yagura/b/lab");
    expect(a.tag).not.toBe(b.tag);
    expect(a.veth("a-very-long-node-name-indeed").length).toBeLessThanOrEqual(15);
    expect(a.veth("n1")).not.toBe(a.veth("n2"));
    expect(a.veth("n1").startsWith(a.vethPrefix)).toBe(true);
    expect(a.netns("n1").startsWith(a.netnsPrefix)).toBe(true);
    expect(a.mac("n1")).toMatch(/^02(:[0-9a-f]{2}){5}$/);
    expect(a.mac("n1")).not.toBe(b.mac("n1"));
  });
});

describe("the pause image layout", () => {
  it("is a tarball GNU tar reads, whose digests match the blobs", () => {
    const dir = mkdtempSync(join(tmpdir(), "yagura-oci-"));
    try {
      writeFileSync(join(dir, "image.tar"), ociImage(Buffer.from("not really a program"), "registry.k8s.io/pause:3.9"));
      execFileSync("tar", ["-xf", join(dir, "image.tar"), "-C", dir]);
      const index = JSON.parse(readFileSync(join(dir, "index.json"), "utf8"));
      expect(index.manifests[0].annotations["io.containerd.image.name"]).toBe("registry.k8s.io/pause:3.9");
      const blob = (d: string) => readFileSync(join(dir, "blobs", "sha256", d.replace("sha256:", "")));
      const sha = (b: Buffer) => "sha256:" + createHash("sha256").update(b).digest("hex");
      const manifest = blob(index.manifests[0].digest);
      expect(sha(manifest)).toBe(index.manifests[0].digest);
      const m = JSON.parse(manifest.toString());
      const layer = blob(m.layers[0].digest);
      const config = JSON.parse(blob(m.config.digest).toString());
      expect(config.rootfs.diff_ids[0]).toBe(sha(layer));
      const listing = execFileSync("tar", ["-tvf", "-"], { input: layer }).toString();
      expect(listing).toMatch(/^-rwxr-xr-x root\/root\s+20 .* pause$/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("parseSvStatus", () => {
  it("reads runit's status lines", () => {
    const s = parseSvStatus(
      "run: /etc/service/sshd: (pid 43) 120s\ndown: /etc/service/etcd: 3s, normally up\nwarning: /etc/service/x: unable to open supervise/ok: file does not exist\n",
    );
    expect(s.map((x) => [x.name, x.state, x.pid])).toEqual([
      ["sshd", "run", 43],
      ["etcd", "down", undefined],
      ["x", "fail", undefined],
    ]);
  });
});
