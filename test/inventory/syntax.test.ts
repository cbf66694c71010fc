import { describe, expect, it } from "vitest";
import {
  compareVersions,
  isHttpUrl,
  labelKeyProblem,
  labelValueProblem,
  parseDuration,
  parseKubeVersion,
} from "../../src/inventory/rules/syntax.js";
import { sshPublicKeyProblem } from "../../src/inventory/rules/openstack.js";
import { cidrOrFinding } from "../../src/inventory/rules/cidr.js";
import type { Finding } from "../../src/inventory/rules/index.js";

const ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBvG1m0mXH7e0H1l4cQp2B7y5t6V0n8Kx0p6lq9F0aXo";

describe("label syntax", () => {
  it.each([
    "a",
    "tier",
    "node.yagura.io/pool",
    "example.com/x_y.z",
    "k8s.io/A-1",
    "a".repeat(63),
    `${"b".repeat(63)}.example.com/x`,
  ])("accepts key %s", (k) => expect(labelKeyProblem(k)).toBeUndefined());
  it.each([
    ["", /the key is empty/],
    ["/a", /prefix "" must be a DNS subdomain/],
    ["a/", /empty/],
    ["Example.com/x", /prefix/],
    ["a b", /may only hold/],
    ["-a", /may only hold/],
    ["a/b/c", /more than one '\/'/],
    ["x".repeat(64), /limit is 63/],
    [`${"a".repeat(254)}/x`, /prefix/],
  ])("refuses key %j", (k, why) => expect(labelKeyProblem(k)).toMatch(why));

  it.each(["", "general", "A-1", "v1.2_3", "z".repeat(63)])("accepts value %j", (v) =>
    expect(labelValueProblem(v)).toBeUndefined(),
  );
  it.each(["-a", "a-", "a b", "é", "z".repeat(64)])("refuses value %j", (v) =>
    expect(labelValueProblem(v)).toBeDefined(),
  );
});

describe("SSH public keys", () => {
  it("accepts an ed25519 key with and without a comment", () => {
    expect(sshPublicKeyProblem(ED25519)).toBeUndefined();
    expect(sshPublicKeyProblem(`${ED25519} ops@example`)).toBeUndefined();
  });
  it.each([
    ["a key whose type does not match its data", ED25519.replace("ssh-ed25519", "ssh-rsa"), /not a ssh-rsa key/],
    ["a truncated key", ED25519.slice(0, -4), /not a ssh-ed25519 key|not base64/],
    ["a key without its type", ED25519.split(" ")[1]!, /must start with a key type/],
    ["a private key", "-----BEGIN OPENSSH PRIVATE KEY-----", /PRIVATE key/],
    ["an empty string", "", /must start with a key type/],
  ])("refuses %s", (_what, key, why) => expect(sshPublicKeyProblem(key)).toMatch(why));
});

describe("CIDR advice", () => {
  it.each([
    ["10.244.1.0/16", /write 10\.244\.0\.0\/16/],
    ["192.168.10.7/24", /write 192\.168\.10\.0\/24/],
    ["10.0.0.0/33", /not an IPv4 CIDR/],
    ["10.0.0.0", /not an IPv4 CIDR/],
    ["fd00::/8", /not an IPv4 CIDR/],
  ])("%s", (value, why) => {
    const out: Finding[] = [];
    expect(cidrOrFinding(["x"], value, "CIDR", out)).toBeUndefined();
    expect(out).toHaveLength(1);
    expect(out[0]!.message).toMatch(why);
  });
  it("returns the parsed CIDR and no finding when valid", () => {
    const out: Finding[] = [];
    expect(cidrOrFinding(["x"], "10.0.0.0/8", "CIDR", out)).toEqual({ base: 167772160, prefix: 8, size: 16777216 });
    expect(out).toEqual([]);
  });
});

describe("scalars", () => {
  it.each([
    ["100ms", 100],
    ["10s", 10_000],
    ["5m", 300_000],
    ["2h", 7_200_000],
    ["30d", 2_592_000_000],
    ["5", undefined],
    ["1.5m", undefined],
  ])("parseDuration(%s) = %s", (s, ms) => expect(parseDuration(s)).toBe(ms));

  const ver = (major: number, minor: number, patch: number, prerelease?: string, build?: string) => ({
    major,
    minor,
    patch,
    prerelease,
    build,
  });
  it.each([
    ["1.33.5", ver(1, 33, 5)],
    ["v1.24.0", ver(1, 24, 0)],
    ["1.33.5-rc.1", ver(1, 33, 5, "rc.1")],
    ["v1.24.0-alpha.1", ver(1, 24, 0, "alpha.1")],
    // What a locally built kube-apiserver --version reports.
    ["v1.24.0-alpha.1-lab", ver(1, 24, 0, "alpha.1-lab")],
    ["1.24.0-0", ver(1, 24, 0, "0")],
    ["1.24.0-0a", ver(1, 24, 0, "0a")],
    ["1.24.0--x", ver(1, 24, 0, "-x")],
    ["1.33.5+build.07", ver(1, 33, 5, undefined, "build.07")],
    ["v1.24.0-alpha.1.123+5f2c4e1", ver(1, 24, 0, "alpha.1.123", "5f2c4e1")],
    ["3.5.17", ver(3, 5, 17)],
    ["1.33", undefined],
    ["1.33.05", undefined],
    ["01.33.5", undefined],
    ["V1.33.5", undefined],
    ["vv1.33.5", undefined],
    ["1.33.5-", undefined],
    ["1.33.5-rc..1", undefined],
    ["1.33.5-rc.01", undefined], // a numeric pre-release identifier has no leading zero
    ["1.33.5-rc_1", undefined],
    ["1.33.5+", undefined],
    ["1.33.5+a+b", undefined],
    ["1.33.5 ", undefined],
    ["", undefined],
  ])("parseKubeVersion(%s)", (s, v) => expect(parseKubeVersion(s)).toEqual(v));

  // Each version is lower than the next (the semver 2.0.0 §11 example, then Kubernetes' own).
  const ascending = [
    "1.0.0-alpha",
    "1.0.0-alpha.1",
    "1.0.0-alpha.beta",
    "1.0.0-beta",
    "1.0.0-beta.2",
    "1.0.0-beta.11",
    "1.0.0-rc.1",
    "1.0.0",
    "1.23.17",
    "1.24.0-alpha.1",
    "1.24.0-alpha.2",
    // "1-lab" is alphanumeric, so it sorts after every number, alpha.2 included (semver §11.4.3).
    "1.24.0-alpha.1-lab",
    "1.24.0-beta.0",
    "1.24.0-rc.0",
    "v1.24.0",
    "1.24.1",
    "1.25.0-alpha.0",
    "1.100.0",
  ];
  const parse = (s: string) => parseKubeVersion(s)!;
  it.each(ascending.slice(1).map((b, i) => [ascending[i]!, b]))("%s < %s", (a, b) => {
    expect(compareVersions(parse(a), parse(b))).toBe(-1);
    expect(compareVersions(parse(b), parse(a))).toBe(1);
  });
  it.each([
    ["1.24.0", "v1.24.0"],
    ["1.24.0-rc.1", "v1.24.0-rc.1"],
    ["1.24.0+a", "1.24.0+b"],
    ["1.24.0-rc.1+a", "1.24.0-rc.1"],
  ])("%s equals %s (a leading v and build metadata do not count)", (a, b) =>
    expect(compareVersions(parse(a), parse(b))).toBe(0),
  );

  it.each([
    ["https://mirror.example.com/k8s", true],
    ["http://10.0.0.5:8080/", true],
    ["ftp://mirror.example.com", false],
    ["https://user:pw@mirror.example.com", false],
    ["https://mirror.example.com/?x=1", false],
    ["mirror.example.com", false],
  ])("isHttpUrl(%s) = %s", (s, ok) => expect(isHttpUrl(s)).toBe(ok));
});
