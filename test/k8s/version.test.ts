import { describe, expect, it } from "vitest";
import { atLeast, kubeVersion } from "../../src/k8s/version.js";

describe("kubeVersion", () => {
  it.each([
    ["1.33.5", 1, 33, 5, undefined, "v1.33.5"],
    ["v1.24.0", 1, 24, 0, undefined, "v1.24.0"],
    // What a locally built kube-apiserver --version reports: still 1.24, pre-release kept.
    ["v1.24.0-alpha.1-lab", 1, 24, 0, "alpha.1-lab", "v1.24.0-alpha.1-lab"],
    ["1.24.0-alpha.1", 1, 24, 0, "alpha.1", "v1.24.0-alpha.1"],
    ["1.37.0-rc.0+5f2c4e1", 1, 37, 0, "rc.0", "v1.37.0-rc.0+5f2c4e1"],
  ])("%s is %i.%i.%i, pre-release %s, written %s", (s, major, minor, patch, prerelease, text) => {
    expect(kubeVersion(s)).toEqual({ major, minor, patch, prerelease, text });
  });

  it.each([
    ["1.23.17", /Kubernetes 1.23 is not supported/],
    ["1.38.0-alpha.1", /Kubernetes 1.38 is not supported/],
    ["v1.24.0-", /not a release number MAJOR.MINOR.PATCH\[-PRERELEASE\]\[\+BUILD\]: write e.g. v1.33.5/],
    ["1.24.0-rc.01", /not a release number/],
    ["1.24", /not a release number/],
  ])("refuses %s", (s, message) => expect(() => kubeVersion(s)).toThrow(message));

  it("a pre-release counts as its minor in version switches", () => {
    const v = kubeVersion("1.29.0-alpha.1");
    expect(atLeast(v, 29)).toBe(true);
    expect(atLeast(v, 30)).toBe(false);
  });
});
