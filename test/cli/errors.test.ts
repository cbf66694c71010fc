/**
 * describeError over what really arrives at the CLI: yagura's own errors, its domain errors, and
 * the errors libraries raise when a peer does not answer (produced here for real against closed
 * and silent loopback ports, not built by hand). An operational failure is exit 3 with what to
 * try; only a bug is exit 70 with a stack trace. Also the throw sites issue #17 reclassified.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, connect, type AddressInfo, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Etcd3 } from "etcd3";
import { NodeSSH } from "node-ssh";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeError, EXIT, OperationFailedError, RefusedError, UserError } from "../../src/cli/errors.js";
import { CommandError, HostKeyMismatchError, NodeUnreachableError } from "../../src/infra/types.js";
import { createKubeApi } from "../../src/infra/kube.js";
import { StackOutputsError } from "../../src/infra/stack-outputs.js";
import { DrainTimeoutError } from "../../src/rebuild/drain.js";
import { kubeVersion } from "../../src/k8s/version.js";
import { ensureEncryptionKey } from "../../src/pki/encryption.js";
import { credentialFromFile } from "../../src/addons/credentials.js";
import { runCommand } from "../../src/rebuild/stack.js";
import { labExec } from "../../src/lab/index.js";
import { takeSnapshot } from "../../src/backup/snapshot.js";
import { localSnapshotStore } from "../../src/backup/store.js";

/** The error a promise rejects with (fails the test when it resolves). */
async function caught(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error("expected a rejection");
}
const sync = (fn: () => unknown) => caught(Promise.resolve().then(fn));

let closedPort = 0;
let silent: Server;
let silentPort = 0;
const sockets: Socket[] = [];
const dir = mkdtempSync(join(tmpdir(), "yagura-errors-"));

beforeAll(async () => {
  // A port nothing listens on (bound, then closed) and one that accepts and never says a word.
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  closedPort = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  silent = createServer((sock) => sockets.push(sock));
  await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
  silentPort = (silent.address() as AddressInfo).port;
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((r) => silent.close(r));
  rmSync(dir, { recursive: true, force: true });
});

const TLS = { ca: "", cert: "", key: "" };

/** [what, how to get the error, exit code, a line of the output]. */
const CASES: [string, () => Promise<unknown>, number, RegExp][] = [
  [
    "UserError",
    () =>
      sync(() => {
        throw new UserError("bad flag", ["fix it"]);
      }),
    EXIT.user,
    /^error: bad flag$/,
  ],
  [
    "RefusedError",
    () =>
      sync(() => {
        throw new RefusedError("quorum");
      }),
    EXIT.refused,
    /^refused: quorum$/,
  ],
  [
    "OperationFailedError",
    () =>
      sync(() => {
        throw new OperationFailedError("op x");
      }),
    EXIT.failed,
    /^failed: op x$/,
  ],
  [
    "CommandError",
    () =>
      sync(() => {
        throw new CommandError("n1", "sv up etcd", 1, "", "boom");
      }),
    EXIT.failed,
    /^failed: /,
  ],
  [
    "HostKeyMismatchError",
    () =>
      sync(() => {
        throw new HostKeyMismatchError("n1 changed");
      }),
    EXIT.refused,
    /^refused: n1 changed/,
  ],
  [
    "NodeUnreachableError",
    () =>
      sync(() => {
        throw new NodeUnreachableError("n1: no route");
      }),
    EXIT.failed,
    /^failed: n1: no route/,
  ],
  [
    "StackOutputsError",
    () =>
      sync(() => {
        throw new StackOutputsError("no outputs", ["run cdktf deploy"]);
      }),
    EXIT.user,
    /^error: no outputs$/,
  ],
  [
    "DrainTimeoutError",
    () =>
      sync(() => {
        throw new DrainTimeoutError("w1 blocked", []);
      }),
    EXIT.failed,
    /^failed: w1 blocked/,
  ],
  [
    "net ECONNREFUSED",
    () => new Promise((res) => connect(closedPort, "127.0.0.1").on("error", res)),
    EXIT.failed,
    /^failed: connect ECONNREFUSED .*: the peer did not answer; check that it is up/,
  ],
  [
    "fetch to a closed port (undici, code on the cause)",
    () => caught(fetch(`http://127.0.0.1:${closedPort}/`)),
    EXIT.failed,
    /^failed: fetch failed \(connect ECONNREFUSED .*\): the peer did not answer/,
  ],
  [
    "fetch that times out (AbortSignal.timeout)",
    () => caught(fetch(`http://127.0.0.1:${silentPort}/`, { signal: AbortSignal.timeout(300) })),
    EXIT.failed,
    /^failed: .*no answer in time/,
  ],
  [
    "ssh2: connection refused",
    () => caught(new NodeSSH().connect({ host: "127.0.0.1", port: closedPort, username: "root", readyTimeout: 2000 })),
    EXIT.failed,
    /^failed: .*ECONNREFUSED/,
  ],
  [
    "ssh2: handshake timeout",
    () => caught(new NodeSSH().connect({ host: "127.0.0.1", port: silentPort, username: "root", readyTimeout: 500 })),
    EXIT.failed,
    /^failed: Timed out while waiting for handshake: SSH to the node failed/,
  ],
  [
    "etcd3: no member answers",
    () => {
      const c = new Etcd3({
        hosts: `127.0.0.1:${closedPort}`,
        dialTimeout: 500,
        defaultCallOptions: () => ({ deadline: Date.now() + 1500 }),
      });
      return caught(c.get("x").string()).finally(() => c.close());
    },
    EXIT.failed,
    /^failed: etcd: .*check that the etcd members are up/,
  ],
  [
    "Kubernetes API not answering",
    () =>
      caught(
        createKubeApi(
          { server: `https://127.0.0.1:${closedPort}`, caPem: "", certPem: "", keyPem: "" },
          { timeoutMs: 2000 },
        ).listNodes(),
      ),
    EXIT.failed,
    /^failed: .*cannot reach/,
  ],
  // Reclassified throw sites (issue #17).
  [
    "an unsupported Kubernetes version",
    () => sync(() => kubeVersion("1.2.3")),
    EXIT.user,
    /^error: Kubernetes 1\.2 is not supported/,
  ],
  [
    "a corrupt Secret encryption key",
    () => {
      writeFileSync(join(dir, "secrets-encryption.json"), "{not json");
      return caught(ensureEncryptionKey(dir));
    },
    EXIT.user,
    /^error: .*is not JSON: restore it from a backup/,
  ],
  [
    "a missing cloud credential file",
    () => sync(() => credentialFromFile(join(dir, "none.json"))),
    EXIT.user,
    /^error: addons\.cloudCredentialFile .* does not exist/,
  ],
  ["a command that exits non-zero", () => caught(runCommand(["false"], dir)), EXIT.failed, /^failed: false exited 1/],
  [
    "a lab node that is not up",
    () => caught(labExec("nolab", "n1", "true", { stateRoot: dir })),
    EXIT.user,
    /^error: lab nolab has no node n1/,
  ],
  [
    "a snapshot with no healthy member",
    () =>
      caught(
        takeSnapshot({
          env: "e1",
          tls: TLS,
          members: [
            {
              node: "cp1",
              clientURL: "https://127.0.0.1:1",
              status: { endpoint: "x", healthy: false, error: "connection refused" },
            },
          ],
          store: localSnapshotStore(dir, "e1"),
          now: () => new Date(),
        } as unknown as Parameters<typeof takeSnapshot>[0]),
      ),
    EXIT.failed,
    /^failed: no healthy, in-sync voting member to snapshot \(cp1: connection refused\); run yagura reconcile e1/,
  ],
  // Bugs stay bugs.
  [
    "a plain Error",
    () =>
      sync(() => {
        throw new Error("invariant broken");
      }),
    EXIT.internal,
    /^internal error \(a bug in yagura/,
  ],
  ["a TypeError", () => sync(() => (null as unknown as { x: { y: number } }).x.y), EXIT.internal, /^internal error/],
  [
    "a thrown string",
    () =>
      sync(() => {
        throw "weird";
      }),
    EXIT.internal,
    /^internal error .*: weird$/,
  ],
];

describe("describeError classifies what reaches the CLI", () => {
  it.each(CASES)(
    "%s",
    async (_what, make, code, line) => {
      const err = await make();
      const d = describeError(err);
      expect(d.lines[0], String((err as Error)?.stack ?? err)).toMatch(line);
      expect(d.code, d.lines.join("\n")).toBe(code);
      // A stack trace is printed for bugs only.
      const trace = d.lines.some((l) => /\n\s+at /.test(l));
      expect(trace).toBe(code === EXIT.internal);
    },
    20_000,
  );
});
