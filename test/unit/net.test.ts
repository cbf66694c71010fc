import { describe, expect, it } from "vitest";
import { addToIPv4, cidrsOverlap, parseCidr, parseIPv4 } from "../../src/cluster/net.js";

describe("IPv4 helpers", () => {
  it.each([
    ["10.0.0.1", 167772161],
    ["255.255.255.255", 4294967295],
    ["256.0.0.1", undefined],
    ["01.2.3.4", undefined],
    ["1.2.3", undefined],
  ])("parseIPv4(%s) = %s", (s, n) => expect(parseIPv4(s)).toBe(n));

  it("adds to an address across octets", () => expect(addToIPv4("10.0.0.255", 2)).toBe("10.0.1.1"));

  it("rejects CIDRs with host bits set", () => {
    expect(parseCidr("10.0.0.1/24")).toBeUndefined();
    expect(parseCidr("10.0.0.0/24")).toEqual({ base: 167772160, prefix: 24, size: 256 });
  });

  it("detects overlap", () => {
    expect(cidrsOverlap(parseCidr("10.0.0.0/8")!, parseCidr("10.96.0.0/16")!)).toBe(true);
    expect(cidrsOverlap(parseCidr("10.96.0.0/16")!, parseCidr("10.244.0.0/16")!)).toBe(false);
  });
});
