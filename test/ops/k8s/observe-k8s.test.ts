import { execFileSync, spawn } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseObservation } from "../../../src/observe/parse.js";
import { observeScript, type ObservePlan } from "../../../src/observe/script.js";
import { sha256 } from "../../../src/supervisor/fingerprint.js";
import { runitSupervisor } from "../../../src/supervisor/runit.js";

const dir = mkdtempSync(join(tmpdir(), "yagura-observe-k8s-"));
let server: Server;
let port = 0;

beforeAll(async () => {
  // A loopback endpoint standing in for a component's health URL: /ok answers ok, anything else 500.
  server = createServer((req, res) => {
    if (req.url === "/proxyMode") return void res.end("ipvs");
    if (req.url === "/ok-newline") return void res.end("ok\n");
    if (req.url === "/lines") return void res.end("[-]etcd failed\n@@yagura-fetch-1\nok\n");
    res.statusCode = req.url === "/ok" ? 200 : 500;
    res.end(req.url === "/ok" ? "ok" : "[-]etcd failed");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  port = (server.address() as { port: number }).port;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

/** A plan that looks at nothing but what a test adds. */
const bare = (): ObservePlan => ({
  prerequisites: [],
  files: [],
  components: [],
  supervisor: runitSupervisor(),
  etcdDataDir: join(dir, "none"),
});

/** Runs the script without blocking the event loop (the health endpoint lives in this process). */
function run(plan: ObservePlan) {
  return new Promise<ReturnType<typeof parseObservation>>((res, rej) => {
    const p = spawn("sh", ["-s"]);
    let out = "";
    p.stdout.on("data", (d: Buffer) => (out += d.toString()));
    p.on("error", rej);
    p.on("close", () => {
      try {
        res(parseObservation("n1", plan, out.trim()));
      } catch (err) {
        rej(err as Error);
      }
    });
    p.stdin.end(observeScript(plan));
  });
}

describe("observe: the Kubernetes parts of the one round trip", () => {
  it("reports each binary's verdict, the health probes and (with etcd's parts) one JSON object", async () => {
    const good = join(dir, "kubelet");
    const bad = join(dir, "kube-proxy");
    writeFileSync(good, "#!/bin/sh\necho kubelet\n");
    writeFileSync(bad, "something else");
    chmodSync(good, 0o755);
    const plan: ObservePlan = {
      prerequisites: [],
      files: [good],
      components: [],
      supervisor: runitSupervisor(),
      etcdDataDir: join(dir, "none"),
      artifacts: [
        { name: "kubelet", nodePath: good, sha256: sha256(readFileSync(good)) },
        { name: "kube-proxy", nodePath: bad, sha256: "e".repeat(64) },
        { name: "kube-apiserver", nodePath: join(dir, "missing binary"), sha256: "a".repeat(64) },
      ],
      probes: [
        { component: "kube-apiserver", url: `http://127.0.0.1:${port}/ok` },
        { component: "kubelet", url: `http://127.0.0.1:${port}/fail` },
      ],
    };
    const st = await run(plan);
    expect(st.artifacts).toEqual({
      kubelet: { state: "ok" },
      "kube-proxy": { state: "mismatch", actual: sha256("something else") },
      "kube-apiserver": { state: "missing" },
    });
    expect(st.health).toEqual({ "kube-apiserver": true, kubelet: false });
    expect(st.files[good]).toBe(sha256(readFileSync(good)));
    expect(st.bootGateOpen).toBeUndefined();
  });

  it("reports the mode kube-proxy says it runs in, and none when nothing answers", async () => {
    const plan = (url: string): ObservePlan => ({ ...bare(), proxyModeUrl: url });
    expect((await run(plan(`http://127.0.0.1:${port}/proxyMode`))).proxyMode).toBe("ipvs");
    // Nothing listens on port 1: kube-proxy down, its mode unknown (not a mismatch).
    expect((await run(plan("http://127.0.0.1:1/proxyMode"))).proxyMode).toBeUndefined();
  });

  it("asks every URL in one curl, and keeps each answer to its own URL whatever the others answer", async () => {
    const plan: ObservePlan = {
      ...bare(),
      probes: [
        { component: "a", url: `http://127.0.0.1:${port}/lines` },
        { component: "b", url: "http://127.0.0.1:1/nothing-listens" },
        { component: "c", url: `http://127.0.0.1:${port}/ok-newline` },
        { component: "d", url: `http://127.0.0.1:${port}/fail` },
      ],
      proxyModeUrl: `http://127.0.0.1:${port}/proxyMode`,
    };
    expect(observeScript(plan).match(/\$\(curl /g)).toHaveLength(1);
    const st = await run(plan);
    expect(st.health).toEqual({ a: false, b: false, c: true, d: false });
    expect(st.proxyMode).toBe("ipvs");
  });

  it("the boot gate is closed until it holds this boot's id", async () => {
    // Probing the real gate path would need root; the snippet is the same for any path, so check its logic.
    const plan: ObservePlan = {
      prerequisites: [],
      files: [],
      components: [],
      supervisor: runitSupervisor(),
      etcdDataDir: join(dir, "none"),
      bootGate: true,
    };
    const st = await run(plan);
    const bootId = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
    // Unless this machine is a yagura node whose gate is open, the gate file does not hold the id.
    let gate = "";
    try {
      gate = readFileSync("/etc/yagura/kubelet/boot-id", "utf8").trim();
    } catch {
      /* absent */
    }
    expect(st.bootGateOpen).toBe(gate === bootId);
  });

  it("an etcd-only plan prints no Kubernetes keys", () => {
    const plan: ObservePlan = {
      prerequisites: [],
      files: [],
      components: [],
      supervisor: runitSupervisor(),
      etcdDataDir: join(dir, "none"),
    };
    const out = execFileSync("sh", ["-s"], { input: observeScript(plan) }).toString();
    expect(JSON.parse(out)).toEqual({
      missing: [],
      services: [],
      etcdData: { present: false, hasMember: false },
    });
  });

  it("output that lacks a planned part is rejected", () => {
    const plan: ObservePlan = {
      prerequisites: [],
      files: [],
      components: [],
      supervisor: runitSupervisor(),
      etcdDataDir: "/d",
      artifacts: [{ name: "kubelet", nodePath: "/x", sha256: "d".repeat(64) }],
    };
    const json = JSON.stringify({
      missing: [],
      files: [],
      services: [],
      etcdData: { present: false, hasMember: false },
    });
    expect(() => parseObservation("n1", plan, json)).toThrow(/does not match its plan \(artifacts\)/);
  });
});
