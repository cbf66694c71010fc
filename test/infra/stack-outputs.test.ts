import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { loadInventory } from "../../src/inventory/load.js";
import { clusterSpec } from "../../src/cluster/spec.js";
import {
  localStatePath,
  readStackApiEndpoint,
  readStackNodes,
  withStackNodes,
  type StackNode,
} from "../../src/infra/stack-outputs.js";
import { k8sCertPlan, apiserverSANs } from "../../src/k8s/certs.js";
import { externalApiUrl } from "../../src/k8s/desired.js";
import { requireClusterSpec } from "../../src/cli/inventory.js";

const example = () => {
  const r = loadInventory("example");
  if (!r.ok) throw new Error("example inventory is invalid");
  return clusterSpec(r.env, r.inventory);
};

/** What the example stack's `nodes` output holds once deployed. */
const deployed = (): StackNode[] =>
  example().nodes.map((n, i) => ({
    name: n.name,
    pool: n.pool,
    role: n.role,
    kind: n.kind as "vm" | "baremetal",
    serverId: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`,
    address: n.address,
  }));

const dir = () => mkdtempSync(join(tmpdir(), "yagura-outputs-"));

describe("stack outputs as the node source", () => {
  it("reads the nodes output from the local state the stack declares", () => {
    const d = dir();
    writeFileSync(
      localStatePath("example", d),
      JSON.stringify({ version: 4, outputs: { nodes: { value: deployed() } } }),
    );
    const nodes = readStackNodes("example", { projectDir: d });
    const spec = withStackNodes(example(), nodes);
    expect(spec.nodes.map((n) => n.serverId)).toEqual(deployed().map((n) => n.serverId));
  });

  it("takes the API load balancer's address from api_endpoint, in every layout, and only for a load balancer", () => {
    const d = dir();
    const lb = { type: "loadbalancer", address: "203.0.113.10", port: 6443 };
    writeFileSync(
      localStatePath("example", d),
      JSON.stringify({ version: 4, outputs: { nodes: { value: deployed() }, api_endpoint: { value: lb } } }),
    );
    expect(readStackApiEndpoint("example", { projectDir: d })).toBe("203.0.113.10");
    const tf = join(d, "tf.json");
    writeFileSync(tf, JSON.stringify({ nodes: { value: deployed() }, api_endpoint: { sensitive: false, value: lb } }));
    expect(readStackApiEndpoint("example", { outputsFile: tf })).toBe("203.0.113.10");
    const cdk = join(d, "cdk.json");
    writeFileSync(cdk, JSON.stringify({ example: { nodes: deployed(), api_endpoint: lb } }));
    expect(readStackApiEndpoint("example", { outputsFile: cdk })).toBe("203.0.113.10");
    // local-proxy names a node the reconciler derives itself; no output at all is no endpoint.
    writeFileSync(
      cdk,
      JSON.stringify({ example: { nodes: deployed(), api_endpoint: { ...lb, type: "local-proxy" } } }),
    );
    expect(readStackApiEndpoint("example", { outputsFile: cdk })).toBeUndefined();
    writeFileSync(cdk, JSON.stringify({ example: { nodes: deployed() } }));
    expect(readStackApiEndpoint("example", { outputsFile: cdk })).toBeUndefined();
    // The CLI's spec carries it, so the material, the certificates and the kubeconfig use it.
    writeFileSync(tf, JSON.stringify({ nodes: { value: deployed() }, api_endpoint: { value: lb } }));
    expect(requireClusterSpec("example", { stackOutputs: tf }).apiEndpoint).toBe("203.0.113.10");
    // What the endpoint changes downstream: the apiservers' SANs and the URL clients use.
    const spec = { ...example(), apiEndpoint: "203.0.113.10" };
    const cp = spec.nodes.find((n) => n.role === "control-plane")!;
    expect(apiserverSANs(spec, cp, { apiEndpoint: spec.apiEndpoint }).ipAddresses).toContain("203.0.113.10");
    expect(k8sCertPlan(spec, { apiEndpoint: spec.apiEndpoint }).length).toBeGreaterThan(0);
    expect(externalApiUrl(spec, spec.apiEndpoint)).toBe("https://203.0.113.10:6443");
  });

  it("reads terraform output -json and cdktf --outputs-file shapes", () => {
    const d = dir();
    const tf = join(d, "tf.json");
    writeFileSync(tf, JSON.stringify({ nodes: { sensitive: false, value: deployed() } }));
    expect(readStackNodes("example", { outputsFile: tf })).toHaveLength(8);
    const cdk = join(d, "cdk.json");
    writeFileSync(cdk, JSON.stringify({ example: { nodes: deployed() } }));
    expect(readStackNodes("example", { outputsFile: cdk })).toHaveLength(8);
  });

  it("says the stack has not been deployed, and what to run", () => {
    expect(() => readStackNodes("example", { projectDir: dir() })).toThrow(/has not been deployed/);
    try {
      readStackNodes("example", { projectDir: dir() });
    } catch (err) {
      expect((err as { details: string[] }).details.join("\n")).toMatch(/cdktf deploy example/);
    }
  });

  it("refuses an output that breaks the contract, naming the entry", () => {
    const d = dir();
    const bad = deployed();
    (bad[2] as { serverId: string }).serverId = "";
    writeFileSync(localStatePath("example", d), JSON.stringify({ outputs: { nodes: { value: bad } } }));
    expect(() => readStackNodes("example", { projectDir: d })).toThrow(/does not match the contract/);
  });

  it("a stack behind the inventory (a node not created, an address moved) is refused with every node named", () => {
    const nodes = deployed().filter((n) => n.name !== "general-3");
    nodes[0] = { ...nodes[0]!, address: "192.168.10.99" };
    let details = "";
    try {
      withStackNodes(example(), nodes);
    } catch (err) {
      details = (err as { details: string[] }).details.join("\n");
    }
    expect(details).toMatch(/general-3: in the inventory \(pool general\) but not created by the stack/);
    expect(details).toMatch(/cp-1: the stack has control-plane vm at 192\.168\.10\.99/);
  });

  it("the CLI refuses to plan an undeployed OpenStack environment with exit 1 and the command to run", () => {
    const r = spawnSync("./bin/yagura.mjs", ["plan", "example", "--stack-outputs", join(dir(), "none.json")], {
      encoding: "utf8",
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/none\.json does not exist/);
    expect(r.stderr).toMatch(/cdktf output example --outputs-file/);
    expect(r.stderr).not.toMatch(/at .*\.ts:\d+/); // no stack trace
  });
});
