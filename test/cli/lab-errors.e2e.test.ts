/**
 * Issue #17 on real paths, in a one-node lab (bridge ygbr78q, 10.78.17.0/24; real sshd, runit and
 * etcd): a reconcile writes no secret anywhere (its output, status, history, the op records, the
 * service logs on the node); a snapshot while etcd is stopped, and a reconcile while the node's
 * sshd is down, each end exit 3 naming the node and what to try, never as a bug with a stack trace.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { envPaths } from "../../src/cluster/paths.js";
import { labContext, labEnter, labExec, readState } from "../../src/lab/index.js";
import { cli, e2eSkipReason, useLab, until } from "../e2e/helpers.js";
import { fileSources, labNodeLogs, scanSecrets, stateSecrets } from "../support/secret-scan.js";

const skip = e2eSkipReason();
if (skip) console.warn(skip);

const ENV = "q78";
const NODE = "n1";

describe.skipIf(skip !== undefined)("errors and secrets on real paths (issue #17)", () => {
  const { state, file } = useLab({
    inventory: { env: ENV, bridge: "ygbr78q", cidr: "10.78.17.0/24", nodes: [[NODE, "10.78.17.11"]] },
    tmpPrefix: "errors",
    skip,
  });
  const stateKey = randomBytes(32).toString("base64");
  const env = { YAGURA_STATE_KEY: stateKey };
  const sv = (cmd: string) => labExec(ENV, NODE, cmd, { stateRoot: state });

  it("a reconcile, status and history write no private key, encryption key, token or state key", async () => {
    const r = await cli(state, ["reconcile", file, "--scope", "etcd"], undefined, { env });
    expect(r.code, r.out).toBe(0);
    const s = await cli(state, ["status", file], undefined, { env });
    const h = await cli(state, ["history", file, "--json"], undefined, { env });
    const dir = readState(labContext(ENV, { stateRoot: state }).labDir)!.nodes[NODE]!.dir;
    const logs = labNodeLogs(dir);
    expect(
      logs.some((f) => f.endsWith("/etcd/current")),
      logs.join("\n"),
    ).toBe(true);
    const sources = [
      { name: "reconcile", text: r.out },
      { name: "status", text: s.out },
      { name: "history", text: h.out },
      ...fileSources([envPaths(ENV, state).records, join(dir, "console.log"), ...logs]),
    ];
    const secrets = stateSecrets(envPaths(ENV, state).dir, [{ name: "YAGURA_STATE_KEY", value: stateKey }]);
    expect(secrets.map((x) => x.name)).toEqual(
      expect.arrayContaining(["pki/etcd-client-ca.key", "pki/etcd-admin.key", "ssh/id_ed25519", "YAGURA_STATE_KEY"]),
    );
    expect(scanSecrets(sources, secrets)).toEqual([]);

    // The scan finds what it looks for: a key as written, embedded base64 as a kubeconfig does, the state key.
    const key = readFileSync(join(envPaths(ENV, state).pkiDir, "etcd-admin.key"), "utf8");
    const planted = [
      { name: "log", text: `x\n${key}` },
      { name: "kubeconfig", text: `    client-key: ${Buffer.from(key).toString("base64")}` },
      { name: "env", text: `YAGURA_STATE_KEY=${stateKey}` },
    ];
    const found = scanSecrets(planted, secrets);
    expect(new Set(found.map((f) => f.source))).toEqual(new Set(["log", "kubeconfig", "env"]));
    expect(found).toContainEqual({ source: "log", line: 2, what: "PEM private key block" });
  }, 180_000);

  it("etcd stopped: etcd snapshot exits 3 naming the member and what to run", async () => {
    expect((await sv("sv -w 15 down /etc/service/etcd")).code).toBe(0);
    try {
      const r = await cli(state, ["etcd", "snapshot", file], undefined, { env });
      expect(r.code, r.out).toBe(3);
      expect(r.out).toMatch(new RegExp(`failed: snapshot of ${ENV}: no healthy.*${NODE}: .*run yagura reconcile`));
      expect(r.out).not.toMatch(/internal error|\n\s+at /);
    } finally {
      await sv("sv up /etc/service/etcd");
    }
  }, 120_000);

  it("sshd down: reconcile exits 3 naming the node, what was seen and what to try", async () => {
    const down = await labEnter(ENV, NODE, ["sv", "-w", "15", "down", "/etc/service/sshd"], { stateRoot: state });
    expect(down.code, down.stderr).toBe(0);
    try {
      // One pass: the loop would otherwise observe the node again for 75 s before it gives up.
      const r = await cli(state, ["reconcile", file, "--scope", "etcd", "--max-passes", "1"], undefined, { env });
      expect(r.code, r.out).toBe(3);
      expect(r.out).toMatch(new RegExp(`failed: .*${NODE} \\(10\\.78\\.17\\.11\\): .*ECONNREFUSED.*sshd`, "s"));
      expect(r.out).not.toMatch(/internal error|\n\s+at /);
    } finally {
      await labEnter(ENV, NODE, ["sv", "up", "/etc/service/sshd"], { stateRoot: state });
      await until(30_000, async () => (await sv("true").catch(() => ({ code: 1 }))).code === 0);
    }
  }, 120_000);
});
