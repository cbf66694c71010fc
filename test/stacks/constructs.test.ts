import { describe, expect, it } from "vitest";
import { Testing, TerraformStack } from "cdktf";
import { parse } from "yaml";
import { Network } from "../../stacks/constructs/network.js";
import { ApiEndpoint } from "../../stacks/constructs/api-endpoint.js";
import { SecurityGroups } from "../../stacks/constructs/security-groups.js";
import { cloudInitView, renderCloudInit } from "../../stacks/cloud-init.js";
import { expandNodes } from "../../src/cluster/spec.js";
import { generateHostKey } from "../../src/pki/host-keys.js";
import { exampleInventory, synth } from "./helpers.js";

const ref = { cluster: "c", env: "e" };
const stack = () => new TerraformStack(Testing.app(), "s");

describe("construct validation names the property and the value", () => {
  it("Network needs exactly one of cidr and existingNetwork", () => {
    expect(() => new Network(stack(), "n", { ...ref, externalNetwork: "public" })).toThrow(
      /Network: props\.cidr is null: set exactly one of cidr/,
    );
    expect(
      () => new Network(stack(), "n", { ...ref, externalNetwork: "public", cidr: "10.0.0.0/24", existingNetwork: "x" }),
    ).toThrow(/Network: props\.cidr is "10\.0\.0\.0\/24"/);
    expect(() => new Network(stack(), "n", { ...ref, externalNetwork: "public", cidr: "10.0.0.1/24" })).toThrow(
      /Network: props\.cidr is "10\.0\.0\.1\/24": expected an IPv4 CIDR/,
    );
  });

  it("ApiEndpoint refuses a floating IP without a load balancer and an empty control plane", () => {
    const base = { ...ref, subnetId: "s", nodeCidr: "10.0.0.0/24", floatingIpPool: "public" };
    expect(
      () =>
        new ApiEndpoint(stack(), "a", {
          ...base,
          floatingIp: true,
          controlPlane: [{ name: "cp-1", address: "10.0.0.5" }],
        }),
    ).toThrow(/ApiEndpoint: props\.floatingIp is true/);
    expect(() => new ApiEndpoint(stack(), "a", { ...base, type: "loadbalancer", controlPlane: [] })).toThrow(
      /ApiEndpoint: props\.controlPlane is \[\]/,
    );
  });

  it("SecurityGroups refuses SSH open to every address", () => {
    expect(
      () =>
        new SecurityGroups(stack(), "g", {
          ...ref,
          apiAllowedCidrs: [],
          nodeCidr: "10.0.0.0/24",
          operatorCidr: "0.0.0.0/0",
          encapsulations: new Set(["None"]),
          unencapsulatedPodCidrs: [],
          nodePorts: false,
        }),
    ).toThrow(/SecurityGroups: props\.operatorCidr is "0\.0\.0\.0\/0"/);
  });

  it("Identity refuses an integration listed twice", () => {
    const inv = exampleInventory();
    inv.keystone!.applicationCredentials = ["cinder-csi", "cinder-csi"];
    expect(() => synth(inv)).toThrow(/Identity: props\.keystone\.applicationCredentials is "cinder-csi"/);
  });
});

describe("cloud-init", () => {
  const nodes = expandNodes(exampleInventory());
  const hostKey = generateHostKey("cp-1");
  const ctx = {
    cluster: "example",
    env: "example",
    sshPublicKey: "ssh-ed25519 AAAA op@x",
    hostKey: { publicKey: hostKey.publicKey, privateKeyScalar: JSON.stringify(hostKey.privateKey) },
  };

  it("renders valid cloud-config YAML for both roles", () => {
    for (const node of [nodes[0]!, nodes[7]!]) {
      const device = node.role === "control-plane" ? "/dev/disk/by-id/virtio-0123456789abcdef0123" : undefined;
      const doc = parse(renderCloudInit(node.role, cloudInitView(node, ctx, device))) as Record<string, unknown>;
      expect(doc.hostname).toBe(node.name);
      expect(doc.ssh_authorized_keys).toEqual(["ssh-ed25519 AAAA op@x"]);
      // Only the issued host key: no generated ones a replaced server would present instead.
      expect(doc.ssh_deletekeys).toBe(true);
      expect(doc.ssh_genkeytypes).toEqual([]);
      expect(doc.ssh_keys).toEqual({ ed25519_private: hostKey.privateKey, ed25519_public: hostKey.publicKey });
      const files = doc.write_files as { path: string; content: string }[];
      expect(files.find((f) => f.path === "/etc/modules-load.d/yagura.conf")!.content).toBe("overlay\nbr_netfilter\n");
      expect(files.find((f) => f.path === "/etc/sysctl.d/90-yagura.conf")!.content).toContain(
        "net.bridge.bridge-nf-call-iptables = 1",
      );
      const runcmd = doc.runcmd as string[][];
      expect(runcmd).toContainEqual(["swapoff", "-a"]);
      expect(runcmd).toContainEqual(["modprobe", "br_netfilter"]);
      const mount = files.find((f) => f.path === "/etc/systemd/system/var-lib-etcd.mount");
      if (device) {
        expect(mount!.content).toContain(`What=${device}\n`);
        expect(runcmd).toContainEqual(["systemctl", "enable", "--now", "var-lib-etcd.mount"]);
      } else {
        expect(mount).toBeUndefined();
      }
    }
  });
});
