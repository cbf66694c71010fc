import { describe, expect, it } from "vitest";
import { HostKeyMismatchError, NodeUnreachableError, type EtcdAdmin, type NodeShell } from "../../src/infra/types.js";
import { observe, observePlan } from "../../src/observe/index.js";
import { testDesired, testSpec } from "../decide/builder.js";

const spec = testSpec(3, 1);
const desired = testDesired(spec);

// Fakes throw "not implemented" for what these tests do not stub.
const nope = () => {
  throw new Error("not implemented");
};

function fakeShell(failures: Record<string, Error>): NodeShell & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    roundTrips: new Map(),
    async exec(node) {
      calls.push(node);
      if (failures[node]) throw failures[node];
      const plan = observePlan(spec.nodes.find((n) => n.name === node)!, desired);
      const out = {
        missing: [],
        files: plan.files.map(() => ""),
        services: plan.components.map(() => ({ state: { present: false, running: false, pid: 0 }, fingerprint: "" })),
        etcdData: { present: false, hasMember: false },
      };
      return { code: 0, stdout: JSON.stringify(out) + "\n", stderr: "" };
    },
    run: nope,
    upload: nope,
    close: async () => undefined,
  };
}

const deadEtcd = (): EtcdAdmin => ({
  members: async () => {
    throw new Error("connect ECONNREFUSED");
  },
  endpointStatus: nope,
  addLearner: nope,
  promote: nope,
  remove: nope,
  put: nope,
  get: nope,
  close: async () => undefined,
});

describe("observe", () => {
  it("makes one round trip per node and turns failures into unreachable nodes with the reason", async () => {
    const shell = fakeShell({
      cp2: new HostKeyMismatchError("cp2: host key changed: expected SHA256:a, the server presents SHA256:b"),
      w1: new NodeUnreachableError("w1: connect timeout"),
    });
    const endpoints: string[][] = [];
    const st = await observe(spec, desired, { shell, etcdAdmin: (e) => (endpoints.push([...e]), deadEtcd()) });
    expect(shell.calls.sort()).toEqual(["cp1", "cp2", "cp3", "w1"]);
    expect(st.nodes.cp2).toMatchObject({ reachable: false });
    expect(st.nodes.cp2!.error).toMatch(/^host key mismatch: .*host key changed/);
    expect(st.nodes.w1).toMatchObject({ reachable: false, error: "w1: connect timeout" });
    expect(st.nodes.cp1).toMatchObject({ reachable: true, prerequisites: { ok: true } });
    // etcd is asked only through reachable control-plane nodes, and no answer is status.
    expect(endpoints).toEqual([["https://10.79.0.11:2379", "https://10.79.0.13:2379"]]);
    expect(st.etcd.members).toEqual([]);
    expect(st.etcd.error).toMatch(/ECONNREFUSED/);
  });
});
