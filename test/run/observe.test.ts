import { describe, expect, it } from "vitest";
import { HostKeyMismatchError, NodeUnreachableError, type NodeShell } from "../../src/infra/types.js";
import { UserError } from "../../src/cli/errors.js";
import { observe } from "../../src/observe/index.js";
import { testDesired, testSpec } from "../decide/builder.js";
import { deadEtcd, emptyNodeReport, nope } from "./fakes.js";

const spec = testSpec(3, 1);
const desired = testDesired(spec);

function fakeShell(failures: Record<string, Error>): NodeShell & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    roundTrips: new Map(),
    async exec(node) {
      calls.push(node);
      if (failures[node]) throw failures[node];
      const out = emptyNodeReport(spec, desired, node);
      return { code: 0, stdout: JSON.stringify(out) + "\n", stderr: "" };
    },
    run: nope,
    upload: nope,
    close: async () => undefined,
  };
}

describe("observe", () => {
  it("makes one round trip per node and turns failures into unreachable nodes with the reason", async () => {
    const shell = fakeShell({
      cp2: new HostKeyMismatchError("cp2: host key changed: expected SHA256:a, the server presents SHA256:b"),
      w1: new NodeUnreachableError("w1: connect timeout"),
    });
    const endpoints: string[][] = [];
    const st = await observe(spec, desired, {
      shell,
      etcdAdmin: (e) => (endpoints.push([...e]), deadEtcd("connect ECONNREFUSED")()),
    });
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

  it("stops on a mistake on this machine (the operator key missing) instead of calling the nodes unreachable", async () => {
    const missing = new UserError("SSH private key /nowhere/id_ed25519 does not exist");
    const shell = fakeShell({ cp1: missing, w1: new NodeUnreachableError("w1: connect timeout") });
    await expect(observe(spec, desired, { shell, etcdAdmin: deadEtcd("connect ECONNREFUSED") })).rejects.toBe(missing);
  });
});
