import { describe, expect, it } from "vitest";
import type { KubeApi } from "../../../src/infra/kube-types.js";
import { waitApiserverReady } from "../../../src/ops/k8s/service.js";
import type { OpContext } from "../../../src/ops/types.js";

/** A context whose node prints `answers` in turn and whose clock advances one second per sleep. */
function ctxWith(answers: string[], readyz?: boolean[]): { ctx: OpContext; asked: () => number } {
  let t = 0;
  let asked = 0;
  const kube = readyz
    ? ({
        readyz: async () => ({ ok: readyz[Math.min(asked++, readyz.length - 1)]!, body: "[-]etcd failed" }),
      } as unknown as KubeApi)
    : undefined;
  const ctx = {
    shell: { run: async () => answers[Math.min(Math.floor(t / 1000), answers.length - 1)]! },
    sleep: async () => void (t += 1000),
    now: () => new Date(t),
    ...(kube ? { kube } : {}),
  } as unknown as OpContext;
  return { ctx, asked: () => asked };
}

describe("waitApiserverReady", () => {
  it("waits for the node's own /readyz", async () => {
    const { ctx } = ctxWith(["", "[-]etcd failed", "ok"]);
    await expect(waitApiserverReady(ctx, "cp1", 10_000)).resolves.toBeUndefined();
  });

  it("gives up with the last answer", async () => {
    const { ctx } = ctxWith(["[-]etcd failed"]);
    await expect(waitApiserverReady(ctx, "cp1", 3_000)).rejects.toThrow(/not reached within 3 s.*etcd failed/);
  });

  it("a node without curl: the API endpoint's readyz is asked instead", async () => {
    const { ctx, asked } = ctxWith(["no-curl"], [false, false, true]);
    await waitApiserverReady(ctx, "cp1", 10_000);
    expect(asked()).toBe(3);
  });
});
