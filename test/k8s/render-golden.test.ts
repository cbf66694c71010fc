import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, it } from "vitest";
import { matchGolden as matchGoldenIn } from "../support/golden.js";
import { renderNode, type RenderInput } from "../../src/k8s/render/index.js";
import { nodeOf, TEST_KEY, testSpec } from "./fixture.js";

const golden = join(dirname(fileURLToPath(import.meta.url)), "golden");
const matchGolden = (name: string, text: string) => matchGoldenIn(golden, name, text);

/** Every file of a node's rendering as one reviewable text. */
function dump(input: RenderInput): string {
  return renderNode(input)
    .flatMap((c) =>
      c.files.map((f) => `=== ${c.name}: ${f.path} (${f.mode.toString(8)}${f.secret ? ", secret" : ""})\n${f.content}`),
    )
    .join("\n");
}

const keystone = { keystone: { project: { name: "tokyo" }, auth: { enabled: true } } };

describe.each(["v1.24.0", "v1.37.0"])("rendered node files at %s", (version) => {
  const spec = testSpec(version, keystone);
  const encryption = { provider: "secretbox" as const, name: "key1", secret: TEST_KEY };
  const base = { spec, encryption, apiServerUrl: "https://203.0.113.10:6443" };

  it("a control-plane VM (audit and Keystone webhook on)", () => {
    const text = dump({
      ...base,
      node: nodeOf(spec, "cp-1"),
      serverId: "3f1c2a9e-0000-4000-8000-000000000001",
      audit: { logPath: "/var/log/kubernetes/audit.log" },
    });
    matchGolden(`cp-vm.${version}.txt`, text);
  });

  it("a bare-metal worker", () => {
    matchGolden(
      `worker-baremetal.${version}.txt`,
      dump({ ...base, node: nodeOf(spec, "bm-1"), serverId: "3f1c2a9e-0000-4000-8000-000000000021" }),
    );
  });

  it("a lab node", () => {
    matchGolden(`lab.${version}.txt`, dump({ ...base, node: nodeOf(spec, "lab-1") }));
  });
});
