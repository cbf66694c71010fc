/** Inputs for the inventory property tests: arbitrary inventories, text mutations and wrong-type replacements. */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import fc from "fast-check";
import { parse } from "yaml";

const INVENTORY = resolve(import.meta.dirname, "../../inventory");
/** The text of the shipped inventories, the seeds for mutation. */
export const SEEDS = ["example.yaml", "lab.yaml"].map((f) => readFileSync(resolve(INVENTORY, f), "utf8"));

// ---- arbitrary inventories, valid-ish: mostly plausible values, a bad one now and then

/** Mostly `good`, sometimes one of `bad`: keeps a share of whole inventories valid. */
function mostly<T>(good: fc.Arbitrary<T>, bad: fc.Arbitrary<T>): fc.Arbitrary<T> {
  return fc.oneof({ weight: 30, arbitrary: good }, { weight: 1, arbitrary: bad });
}

const name = mostly(
  fc.stringMatching(/^[a-z][a-z0-9-]{0,6}[a-z0-9]$/),
  fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom("cp", "cp-1", "Node_1", "a".repeat(70), "", "x;rm -rf /")),
);
const labIp = mostly(
  fc.integer({ min: 2, max: 254 }).map((n) => `10.77.0.${n}`),
  fc.oneof(fc.ipV4(), fc.constantFrom("", "10.77.0", "010.77.0.5", "::1", "10.77.0.11/24", "10.77.0.0", "10.77.0.1")),
);
const cidr = (good: string) =>
  mostly(
    fc.constant(good),
    fc.oneof(
      fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 34 })).map(([a, p]) => `${a}/${p}`),
      fc.string({ maxLength: 20 }),
      fc.constantFrom("10.77.0.0/24", "192.168.10.0/24"),
    ),
  );
const count = mostly(fc.integer({ min: 0, max: 7 }), fc.constantFrom(1e300, 2 ** 53, -1, 0.5, 1001, 100000));
const labels = fc.dictionary(
  mostly(
    fc.constantFrom("node.yagura.io/pool", "tier", "example.com/x_y.z"),
    fc.oneof(fc.constantFrom("a/b/c", "Example.com/x", "x".repeat(64)), fc.string({ maxLength: 10 })),
  ),
  mostly(
    fc.constantFrom("general", "", "A-1"),
    fc.oneof(fc.constantFrom("-bad", "v".repeat(64)), fc.string({ maxLength: 8 })),
  ),
  { maxKeys: 3 },
);
const taint = fc.record({
  key: mostly(fc.constantFrom("dedicated", "node-role.kubernetes.io/control-plane"), fc.constant("bad key")),
  value: mostly(fc.constantFrom("", "gpu"), fc.constant("bad value!")),
  effect: mostly(fc.constantFrom("NoSchedule", "NoExecute", "PreferNoSchedule"), fc.constant("Never")),
});
const role = mostly(fc.constantFrom("control-plane", "worker"), fc.constant("boss"));
const staticNode = fc.record(
  {
    name,
    address: labIp,
    role,
    labels,
    taints: fc.array(taint, { maxLength: 2 }),
    zone: mostly(fc.constantFrom("z1", "z2"), fc.constantFrom("z 2", "$(id)", "")),
  },
  { requiredKeys: ["name", "address", "role"] },
);
const pool = fc.record(
  {
    name,
    role,
    kind: fc.constantFrom("vm", "baremetal"),
    count,
    flavor: mostly(fc.constantFrom("m1.large", "bm.gpu", "Big Flavor"), fc.constantFrom("", "m1;large")),
    image: mostly(fc.constantFrom("ubuntu-24.04", "Ubuntu 24.04"), fc.constantFrom("img\n", " x")),
    firstAddress: mostly(
      fc.integer({ min: 0, max: 31 }).map((n) => `192.168.10.${2 + n * 8}`),
      fc.oneof(fc.ipV4(), fc.constantFrom("nope", "192.168.10.0")),
    ),
    availabilityZones: fc.array(mostly(fc.constantFrom("az1", "az2"), fc.constant("az 3")), { maxLength: 3 }),
    volumes: fc.record({ etcd: fc.record({ size: fc.integer({ min: 1, max: 100 }) }) }, { requiredKeys: [] }),
    rebuildTokens: fc.dictionary(fc.constantFrom("cp-1", "w-2", "x"), fc.constantFrom("t1", "a b"), { maxKeys: 1 }),
  },
  { requiredKeys: ["name", "role", "count", "flavor", "image", "firstAddress"] },
);
const cluster = fc.record(
  {
    name,
    kubernetesVersion: mostly(
      fc.constantFrom("1.33.5", "v1.24.0", "1.37.99"),
      fc.constantFrom("1.23.1", "1.38.0", "1.33", "latest"),
    ),
    podCIDR: cidr("10.244.0.0/16"),
    serviceCIDR: cidr("10.96.0.0/16"),
    minReadyWorkers: mostly(fc.constant(0), fc.integer({ min: 1, max: 4 })),
  },
  { requiredKeys: ["name", "kubernetesVersion"] },
);
const networking = fc.record({
  calico: fc.record(
    {
      blockSize: mostly(fc.integer({ min: 20, max: 28 }), fc.integer({ min: 16, max: 33 })),
      routeReflectors: mostly(
        fc.record({ enabled: fc.boolean(), count: fc.integer({ min: 2, max: 3 }) }, { requiredKeys: [] }),
        fc.record({
          nodes: fc.array(name, { maxLength: 3 }),
          count: fc.integer({ min: 0, max: 4 }),
          clusterId: fc.constantFrom("1.2.3", "244.0.0.2"),
        }),
      ),
      ipPools: mostly(fc.constant([]), fc.array(fc.record({ name, cidr: cidr("10.244.0.0/17") }), { maxLength: 2 })),
    },
    { requiredKeys: [] },
  ),
});
const reconciler = fc.record(
  { watchInterval: mostly(fc.constantFrom("10s", "5m"), fc.constantFrom("5s", "0s", "soon")) },
  { requiredKeys: [] },
);

/** A lab-shaped inventory: static nodes on the lab network. */
const labShaped = fc.record(
  {
    cluster,
    lab: fc.record(
      { cidr: mostly(fc.constant("10.77.0.0/24"), fc.constantFrom("10.77.0.0/16", "10.77.0.1/24")) },
      { requiredKeys: [] },
    ),
    staticNodes: fc.array(staticNode, { minLength: 1, maxLength: 6 }),
    networking,
    reconciler,
  },
  { requiredKeys: ["cluster", "lab", "staticNodes"] },
);
/** An OpenStack-shaped inventory: pools on a created network. */
const openstackShaped = fc.record(
  {
    cluster,
    openstack: fc.record({
      cloud: mostly(fc.constant("example"), fc.constantFrom("", "c;d")),
      region: fc.constant("RegionOne"),
      externalNetwork: fc.constant("public"),
      network: mostly(
        fc.constant({ cidr: "192.168.10.0/24" }),
        fc.oneof(
          fc.record({ cidr: cidr("192.168.10.0/25") }),
          fc.record(
            { existingNetwork: fc.constant("n"), existingSubnet: fc.constant("s") },
            { requiredKeys: ["existingNetwork"] },
          ),
        ),
      ),
      operatorCidr: cidr("203.0.113.0/24"),
      sshPublicKey: mostly(
        fc.constant("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBvG1m0mXH7e0H1l4cQp2B7y5t6V0n8Kx0p6lq9F0aXo op@x"),
        fc.constantFrom("ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIBvG1m0mXH7e0H1l4cQp2B7y5t6V0n8Kx0p6lq9F0aXo", "not a key"),
      ),
    }),
    nodePools: fc.array(pool, { minLength: 1, maxLength: 3 }),
    networking,
    reconciler,
  },
  { requiredKeys: ["cluster", "openstack", "nodePools"] },
);
/** Lab- or OpenStack-shaped inventory objects, mostly plausible. */
export const inventory = fc.oneof(labShaped, openstackShaped);

/** A lab inventory that is valid by construction: quorum-sized control plane, unique names and addresses. */
export const validLab = fc
  .record({
    cp: fc.constantFrom(1, 3, 5, 7),
    workers: fc.integer({ min: 1, max: 20 }),
    prefix: fc.stringMatching(/^[a-z]{1,8}$/),
    reflectors: fc.boolean(),
  })
  .map(({ cp, workers, prefix, reflectors }) => ({
    cluster: { name: `${prefix}-lab`, kubernetesVersion: "1.30.1" },
    lab: { cidr: "10.77.0.0/24" },
    staticNodes: Array.from({ length: cp + workers }, (_, i) => ({
      name: `${prefix}${i + 1}`,
      address: `10.77.0.${10 + i}`,
      role: i < cp ? "control-plane" : "worker",
    })),
    networking: {
      calico: { routeReflectors: reflectors ? { nodes: [`${prefix}1`, `${prefix}2`] } : { enabled: false } },
    },
  }));

// ---- mutations of the shipped inventories' text

const JUNK = [
  "",
  "~",
  "[]",
  "{}",
  "-1",
  "1e309",
  "99999999999999999999999",
  "0x1F",
  "!!binary aGk=",
  "!!set {a, b}",
  "!!timestamp 2001-12-14",
  "*nope",
  "&a x",
  "'",
  '"unterminated',
  '"\\u0000"',
  "yes",
  "{a: [b, {c: d}]}",
  "[".repeat(100) + "]".repeat(100),
  "2001:db8::1",
  "<<: *a",
  "|\n  multi\n  line",
  "\t",
];

/** A billion-laughs style alias bomb (9^4 expansions), prepended to documents. */
export const BOMB = [
  "a: &a [x, x, x, x, x, x, x, x, x]",
  "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]",
  "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]",
  "d: [*c, *c, *c, *c, *c, *c, *c, *c, *c]",
];

/** An edit of a document's lines. */
export type Mutation = (lines: string[]) => string[];

/** One text edit: delete, swap, retype, insert bytes, indent, duplicate, nest, bomb, huge numbers. */
export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.nat().map((i) => (l: string[]) => l.filter((_, j) => j !== i % l.length)),
  fc.tuple(fc.nat(), fc.nat()).map(([a, b]) => (l: string[]) => {
    const out = [...l];
    const i = a % l.length;
    const j = b % l.length;
    const vi = out[i]!.split(": ");
    const vj = out[j]!.split(": ");
    if (vi.length > 1 && vj.length > 1) {
      out[i] = [vi[0], ...vj.slice(1)].join(": ");
      out[j] = [vj[0], ...vi.slice(1)].join(": ");
    }
    return out;
  }),
  fc.tuple(fc.nat(), fc.constantFrom(...JUNK)).map(([a, junk]) => (l: string[]) => {
    const out = [...l];
    const i = a % l.length;
    const k = out[i]!.indexOf(": ");
    out[i] = k >= 0 ? `${out[i]!.slice(0, k)}: ${junk}` : `${out[i]}${junk}`;
    return out;
  }),
  fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 16 })).map(([a, bytes]) => (l: string[]) => {
    const out = [...l];
    const i = a % l.length;
    const s = out[i]!;
    const at = a % (s.length + 1);
    out[i] = s.slice(0, at) + Buffer.from(bytes).toString("latin1") + s.slice(at);
    return out;
  }),
  fc.tuple(fc.nat(), fc.integer({ min: 1, max: 4 })).map(([a, n]) => (l: string[]) => {
    const out = [...l];
    const i = a % l.length;
    out[i] = " ".repeat(n) + out[i];
    return out;
  }),
  fc.nat().map((a) => (l: string[]) => [...l.slice(0, a % l.length), l[a % l.length]!, ...l.slice(a % l.length)]),
  // Moderate nesting here; the depths that exhaust the parser's stack are in the table below.
  fc.integer({ min: 10, max: 200 }).map((n) => (l: string[]) => [...l, `deep: ${"[".repeat(n)}${"]".repeat(n)}`]),
  fc
    .integer({ min: 10, max: 60 })
    .map((n) => (l: string[]) => [...l, ...Array.from({ length: n }, (_, i) => `${" ".repeat(i)}k${i}:`)]),
  fc.constant((l: string[]) => [...BOMB, ...l]),
  fc.constant((l: string[]) => l.map((s) => s.replace(/\b\d+\b/, "340282366920938463463374607431768211456"))),
);

// ---- wrong types: replace leaves of the parsed seeds

/** Every leaf path of a parsed document (the places a wrong type can go). */
function leafPaths(v: unknown, path: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(v)) return v.length === 0 ? [path] : v.flatMap((x, i) => leafPaths(x, [...path, i]));
  if (v !== null && typeof v === "object") {
    const entries = Object.entries(v);
    return entries.length === 0 ? [path] : entries.flatMap(([k, x]) => leafPaths(x, [...path, k]));
  }
  return [path];
}

/** Returns a copy of `doc` with the value at `path` replaced. */
export function setIn(doc: unknown, path: (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value;
  const [head, ...rest] = path;
  const copy = (Array.isArray(doc) ? [...doc] : { ...(doc as object) }) as Record<string | number, unknown>;
  copy[head!] = setIn(copy[head!], rest, value);
  return copy;
}

/** The shipped inventories, parsed. */
export const DOCS = SEEDS.map((s) => parse(s) as unknown);
/** Each document's leaf paths. */
export const LEAVES = DOCS.map((d) => leafPaths(d));
/** Wrong types and extreme values: anything fast-check can build, plus hand-picked edge cases. */
export const replacement = fc.oneof(
  fc.anything({ maxDepth: 3, withBigInt: false, withNullPrototype: true }),
  fc.constantFrom(Number.MAX_SAFE_INTEGER, -0, 1e308, -1e308, "", " ", "\u0000", "é".repeat(300), [], {}, null, true),
);
