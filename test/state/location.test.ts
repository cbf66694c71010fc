/** --state parsing and the sealing of secrets: pure tables, no store. */
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { seal, stateKeyFrom, unseal } from "../../src/state/crypto.js";
import { parseStateLocation, stateKeys } from "../../src/state/location.js";

describe("parseStateLocation", () => {
  it.each([
    [undefined, {}, { kind: "local" }],
    ["local", {}, { kind: "local" }],
    [
      "etcd://10.0.0.5:2379,store.example:2379",
      {},
      {
        kind: "etcd",
        endpoints: ["http://10.0.0.5:2379", "http://store.example:2379"],
        ttlSeconds: 15,
        prefix: "/yagura",
      },
    ],
    [
      "etcd://[fd00::5]:2379/?ttl=30s&prefix=/team/yagura",
      {},
      { kind: "etcd", endpoints: ["http://[fd00::5]:2379"], ttlSeconds: 30, prefix: "/team/yagura" },
    ],
  ])("%s → %j", (url, env, want) => {
    expect(parseStateLocation(url, {}, env)).toMatchObject(want);
  });

  it("uses TLS when any TLS file is given, by flag or environment", () => {
    const flag = parseStateLocation("etcd://h:2379", { ca: "ca.crt" }, {});
    expect(flag).toMatchObject({ endpoints: ["https://h:2379"], tls: { ca: "ca.crt" } });
    const env = parseStateLocation(
      undefined,
      {},
      {
        YAGURA_STATE: "etcd://h:2379",
        YAGURA_STATE_CERT: "c.crt",
        YAGURA_STATE_TLS_KEY: "c.key",
      },
    );
    expect(env).toMatchObject({ endpoints: ["https://h:2379"], tls: { cert: "c.crt", key: "c.key" } });
  });

  it.each([
    ["s3://bucket", /--state must be "local" or an etcd URL such as etcd:\/\//],
    ["etcd://h", /"h" is not host:port/],
    ["etcd://h:70000", /"h:70000" is not host:port/],
    ["etcd://h:2379?ttl=1s", /ttl=1s must be whole seconds of at least 2s/],
    ["etcd://h:2379?ttl=1500ms", /ttl=1500ms must be whole seconds/],
    ["etcd://h:2379?prefix=yagura", /prefix=yagura must look like \/yagura/],
    ["etcd://h:2379?lease=5s", /unknown option lease= \(known: ttl, prefix\)/],
  ])("refuses %s", (url, message) => {
    expect(() => parseStateLocation(url, {}, {})).toThrow(message);
  });

  it("wants a client certificate and its key together", () => {
    expect(() => parseStateLocation("etcd://h:2379", { cert: "c.crt" }, {})).toThrow(
      /--state-cert and --state-key go together/,
    );
  });

  it("keeps environments apart under the prefix", () => {
    expect(stateKeys("/yagura", "prod")).toEqual({
      leader: "/yagura/prod/leader",
      records: "/yagura/prod/records/",
      secrets: "/yagura/prod/secrets/",
      journal: "/yagura/prod/journal/",
      documents: "/yagura/prod/documents/",
    });
  });
});

describe("sealing", () => {
  const key = randomBytes(32);
  const pem = Buffer.from("-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n");

  it("round-trips, with a fresh nonce per seal and no plaintext in the sealed value", () => {
    const a = seal(key, "/yagura/e/secrets/ca.key", pem);
    const b = seal(key, "/yagura/e/secrets/ca.key", pem);
    expect(a.equals(b)).toBe(false);
    expect(a.toString("latin1")).not.toContain("PRIVATE KEY");
    expect(unseal(key, "/yagura/e/secrets/ca.key", a).equals(pem)).toBe(true);
  });

  it("refuses another key, another name, an altered value, and a foreign value", () => {
    const s = seal(key, "/yagura/e/secrets/ca.key", pem);
    expect(() => unseal(randomBytes(32), "/yagura/e/secrets/ca.key", s)).toThrow(
      /cannot decrypt \/yagura\/e\/secrets\/ca.key .* with YAGURA_STATE_KEY: it is not the key that wrote it/,
    );
    expect(() => unseal(key, "/yagura/e/secrets/other.key", s)).toThrow(/cannot decrypt/);
    const altered = Buffer.from(s);
    altered[altered.length - 1]! ^= 1;
    expect(() => unseal(key, "/yagura/e/secrets/ca.key", altered)).toThrow(/cannot decrypt/);
    expect(() => unseal(key, "/yagura/e/secrets/ca.key", pem)).toThrow(/not a sealed yagura secret/);
  });

  it("reads the key from YAGURA_STATE_KEY and says how to make one when it is missing or wrong", () => {
    expect(stateKeyFrom({ YAGURA_STATE_KEY: key.toString("base64") }).equals(key)).toBe(true);
    expect(() => stateKeyFrom({})).toThrow(/YAGURA_STATE_KEY is not set.*openssl rand -base64 32/);
    expect(() => stateKeyFrom({ YAGURA_STATE_KEY: "not base64!" })).toThrow(/decodes to 0 bytes/);
    expect(() => stateKeyFrom({ YAGURA_STATE_KEY: randomBytes(16).toString("base64") })).toThrow(
      /is not 32 bytes of base64 \(it decodes to 16 bytes\)/,
    );
  });
});
