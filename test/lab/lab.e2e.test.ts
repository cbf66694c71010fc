/**
 * The lab end to end, with real parts: five nodes (3 control-plane, 2 workers) on their own bridge
 * and subnet, real sshd with pinned host keys, runit as PID 1, then a complete teardown.
 */
import { hostKeyFiles, readHostKey } from "../../src/pki/host-keys.js";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UserError } from "../../src/cli/errors.js";
import { envPaths } from "../../src/cluster/paths.js";
import {
  GUARDED_SYSCTLS,
  labContext,
  labDown,
  labEnter,
  labExec,
  labStatus,
  labUp,
  PAUSE_IMAGE_REF,
  parseSvStatus,
  readState,
  readSysctls,
  sshExec,
  type LabState,
  type LabUpResult,
} from "../../src/lab/index.js";
import { SYSCTL_DIR } from "../../src/lab/sysctl.js";
import { comm } from "../../src/lab/procs.js";
import { shq } from "../../src/infra/shell.js";
import { renderContainerd } from "../../src/runtime/containerd.js";
import { supervisorFor } from "../../src/supervisor/index.js";
import { posix } from "node:path";
import { labInventory, labSkipReason, linksWith, mountsUnder, netnsWith, specFrom } from "./helpers.js";

const skip = labSkipReason();
if (skip) console.warn(skip);

const BRIDGE = "ygt0e2e";
const NODES: [string, string, string][] = [
  ["cp1", "10.78.0.11", "control-plane"],
  ["cp2", "10.78.0.12", "control-plane"],
  ["cp3", "10.78.0.13", "control-plane"],
  ["w1", "10.78.0.21", "worker"],
  ["w2", "10.78.0.22", "worker"],
];
const ENV = "e2e";

describe.skipIf(skip !== undefined)("yagura lab (real namespaces, sshd and runit)", () => {
  const root = skip ? "" : mkdtempSync(join(tmpdir(), "yagura-lab-e2e-"));
  const spec = specFrom(ENV, labInventory(BRIDGE, "10.78.0.0/24", NODES));
  const paths = envPaths(ENV, root);
  const ctx = labContext(ENV, { stateRoot: root });
  const ssh = (address: string, cmd: string) => sshExec(paths.sshKey, paths.knownHosts, address, cmd);
  let up: LabUpResult;
  let sysctlsBefore: Record<string, string>;

  beforeAll(async () => {
    sysctlsBefore = readSysctls();
    up = await labUp(spec, { stateRoot: root });
  });

  afterAll(async () => {
    if (!skip) {
      await labDown(ENV, { stateRoot: root }).catch(() => {});
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("creates every node and writes the operator key 0600 and the pinned host keys", () => {
    expect(up.created).toEqual(NODES.map((n) => n[0]));
    expect(readFileSync(paths.sshKey, "utf8")).toMatch(/BEGIN OPENSSH PRIVATE KEY/);
    expect((statSync(paths.sshKey).mode & 0o777).toString(8)).toBe("600");
    const lines = readFileSync(paths.knownHosts, "utf8").trim().split("\n");
    expect(lines.map((l) => l.split(" ")[0]).sort()).toEqual(NODES.map((n) => n[1]).sort());
    for (const l of lines) expect(l).toMatch(/^\d+\.\d+\.\d+\.\d+ ssh-ed25519 [A-Za-z0-9+/=]+$/);
    // Each node serves the key yagura issued for it (kept 0600 with the PKI), as a stack's server does.
    for (const [name, addr] of NODES) {
      const issued = readHostKey(paths.pkiDir, name)!;
      expect(lines).toContain(`${addr} ${issued.publicKey.split(" ").slice(0, 2).join(" ")}`);
      expect((statSync(hostKeyFiles(paths.pkiDir, name).key).mode & 0o777).toString(8)).toBe("600");
    }
  });

  it("reaches each node over ssh at its own address with its pinned host key, and only there", async () => {
    const res = await Promise.all(
      NODES.map(([, a]) => ssh(a, "hostname; ip -o -4 addr show | awk '{print $2, $4}'; ip route")),
    );
    NODES.forEach(([name, addr], i) => {
      const r = res[i]!;
      expect(r.code, r.stderr).toBe(0);
      const [host, ...rest] = r.stdout.trim().split("\n");
      expect(host).toBe(name);
      expect(rest).toContain(`eth0 ${addr}/24`);
      expect(rest.join("\n")).not.toMatch(/default/); // no route out of the subnet
    });
    // Pin cp2's key for cp1's address: a strict client must refuse cp1.
    const wrong = join(root, "wrong_known_hosts");
    const keyOf = (a: string) =>
      readFileSync(paths.knownHosts, "utf8")
        .split("\n")
        .find((l) => l.startsWith(a + " "))!
        .split(" ")
        .slice(1)
        .join(" ");
    writeFileSync(wrong, `${NODES[0]![1]} ${keyOf(NODES[1]![1])}\n`);
    const bad = await sshExec(paths.sshKey, wrong, NODES[0]![1], "true");
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/i);
    // sshd listens on the node's address only, not on loopback.
    const lo = await ssh(
      NODES[0]![1],
      "ssh -o BatchMode=yes -o ConnectTimeout=2 -o StrictHostKeyChecking=no root@127.0.0.1 true 2>&1; echo rc=$?",
    );
    expect(lo.stdout).toMatch(/refused/i);
  });

  it("keeps each node's files to itself (overlay upper dirs) and hides the lab's key", async () => {
    const name = `owner-${randomBytes(4).toString("hex")}`;
    const [cp1, cp2] = [NODES[0]![1], NODES[1]![1]];
    const w = await ssh(
      cp1,
      `mkdir -p /etc/kubernetes && hostname > /etc/kubernetes/${name} && cat /etc/kubernetes/${name}`,
    );
    expect(w.stdout.trim()).toBe("cp1");
    const other = await ssh(cp2, `test -e /etc/kubernetes/${name}; echo $?`);
    expect(other.stdout.trim()).toBe("1");
    expect(existsSync(`/etc/kubernetes/${name}`)).toBe(false);
    const hidden = await ssh(cp1, `test -e '${paths.sshKey}' || test -e '${join(ctx.nodesDir, "cp2")}'; echo $?`);
    expect(hidden.stdout.trim()).toBe("1");
    const pid = await labExec(ENV, "cp1", "ps -e -o pid= -o comm= | head -1", { stateRoot: root });
    expect(pid.stdout.trim()).toMatch(/^1 runsvdir$/);
    const entered = await labEnter(ENV, "cp2", ["cat", `/etc/hostname`], { stateRoot: root });
    expect(entered.stdout.trim()).toBe("cp2");
  });

  it("supervises a service with runit: kill -9 and it comes back with a new pid", async () => {
    const w1 = NODES[3]![1];
    const def =
      "mkdir -p /etc/yagura/sv/sleeper && printf '#!/bin/sh\\nexec sleep 100000\\n' > /etc/yagura/sv/sleeper/run && " +
      "chmod 755 /etc/yagura/sv/sleeper/run && ln -sfn /etc/yagura/sv/sleeper /etc/service/sleeper";
    expect((await ssh(w1, def)).code).toBe(0);
    const pidOf = async () => {
      // runsvdir rescans /etc/service every 5 s; then runsv starts the service at once.
      for (let i = 0; i < 80; i++) {
        const s = parseSvStatus((await ssh(w1, "sv status /etc/service/sleeper 2>/dev/null; true")).stdout)[0];
        if (s?.state === "run" && s.pid) return s.pid;
        await new Promise((r) => setTimeout(r, 150));
      }
      throw new Error("sleeper never ran");
    };
    const first = await pidOf();
    await ssh(w1, `kill -9 ${first}`);
    let second = first;
    for (let i = 0; i < 40 && second === first; i++) {
      await new Promise((r) => setTimeout(r, 100));
      second = await pidOf();
    }
    expect(second).not.toBe(first);
    const st = await labStatus(ENV, { stateRoot: root });
    const node = st.nodes.find((n) => n.name === "w1")!;
    expect(node.sshd && node.pid1Alive && node.netns).toBe(true);
    expect(node.services.map((s) => `${s.name}:${s.state}`).sort()).toEqual(["sleeper:run", "sshd:run"]);
  }, 60_000);

  it("plays a node image: yagura's containerd under runit imports the lab's pause image and runs it with runc", async (t) => {
    if (up.pauseImageNote) t.skip(`pause image not built: ${up.pauseImageNote}`);
    const w2 = NODES[4]![1];
    // The lab image has the packages and the image tarball; the config and service are the
    // reconciler's runtime rung's (rendered here as it renders them), started as that rung does.
    const node = spec.nodes.find((n) => n.name === "w2")!;
    const rt = renderContainerd(spec, node);
    for (const f of rt.files) {
      const w = await ssh(
        w2,
        `mkdir -p ${shq(posix.dirname(f.path))} && printf '%s' ${shq(f.content)} > ${shq(f.path)} && chmod ${f.mode.toString(8)} ${shq(f.path)}`,
      );
      expect(w.code, w.stderr).toBe(0);
    }
    const start = await ssh(w2, supervisorFor(node).startScript(rt.name));
    expect(start.code, start.stderr).toBe(0);
    let images = "";
    for (let i = 0; i < 100 && !images.includes(PAUSE_IMAGE_REF); i++) {
      await new Promise((r) => setTimeout(r, 200));
      images = (await ssh(w2, "ctr -n k8s.io images ls -q 2>/dev/null; true")).stdout;
    }
    expect(images.split("\n")).toContain(PAUSE_IMAGE_REF);
    const ran = await ssh(
      w2,
      `ctr -n k8s.io run -d ${PAUSE_IMAGE_REF} lab-pause >/dev/null && ctr -n k8s.io task ls | awk '$1=="lab-pause"{print $3}'`,
    );
    expect(ran.stdout.trim(), ran.stderr).toBe("RUNNING");
    // The container's cgroup is inside the node's own subtree (its cgroup namespace's root).
    const cg = await ssh(
      w2,
      "cat /proc/$(ctr -n k8s.io task ls | awk '$1==\"lab-pause\"{print $2}')/cgroup | grep memory",
    );
    expect(cg.stdout).toMatch(/memory:\/k8s\.io\/lab-pause/);
  }, 60_000);

  it("refuses a second lab whose subnet clashes with this one", async () => {
    const other = specFrom("clash", labInventory("ygt0clash", "10.78.0.0/24", [["x1", "10.78.0.31", "control-plane"]]));
    await expect(labUp(other, { stateRoot: root })).rejects.toThrow(UserError);
    expect(netnsWith(labContext("clash", { stateRoot: root }).names.netnsPrefix)).toEqual([]);
  });

  it("up again keeps every healthy node and adds a node added to the inventory", async () => {
    const before = readState(ctx.labDir)!;
    const again = await labUp(spec, { stateRoot: root });
    expect(again.created).toEqual([]);
    expect([...again.kept].sort()).toEqual(NODES.map((n) => n[0]).sort());
    const after = readState(ctx.labDir)!;
    for (const [n] of NODES) expect(after.nodes[n]!.pid1).toBe(before.nodes[n]!.pid1);
    // A node whose PID 1 died boots again from its own tree: same files, same pinned host key.
    const cp3 = after.nodes["cp3"]!;
    expect(comm(cp3.pid1!)).toBe("runsvdir");
    process.kill(cp3.pid1!, "SIGKILL");
    const kh = readFileSync(paths.knownHosts, "utf8");
    const rebooted = await labUp(spec, { stateRoot: root });
    expect(rebooted.restarted).toEqual(["cp3"]);
    expect(readFileSync(paths.knownHosts, "utf8")).toBe(kh);
    expect((await ssh(NODES[2]![1], "hostname; test -d /etc/kubernetes && echo kept")).stdout.trim()).toBe("cp3\nkept");
    const grown = specFrom(ENV, labInventory(BRIDGE, "10.78.0.0/24", [...NODES, ["w3", "10.78.0.23", "worker"]]));
    const added = await labUp(grown, { stateRoot: root });
    expect(added.created).toEqual(["w3"]);
    expect((await ssh("10.78.0.23", "hostname")).stdout.trim()).toBe("w3");
  }, 60_000);

  it("down removes every namespace, link, mount, process and cgroup dir, and restores the kernel settings", async () => {
    const state: LabState = readState(ctx.labDir)!;
    const pids = Object.values(state.nodes).flatMap((n) => [n.pid1!, n.launcher!]);
    const cgroups = [...state.cgroupGroups, ...Object.values(state.nodes).flatMap((n) => n.cgroups)];
    // Play a kubelet: change a guarded setting (a harmless one) while the lab is up, when no other
    // lab on the machine holds the saved values (their down would restore it instead).
    const reg = join(SYSCTL_DIR, "sysctl.json");
    const alone = JSON.parse(readFileSync(reg, "utf8")).holders.length === 1;
    const key = "kernel/keys/root_maxbytes";
    expect(GUARDED_SYSCTLS).toContain(key);
    if (alone) writeFileSync(`/proc/sys/${key}`, String(Number(sysctlsBefore[key]) + 1));

    const res = await labDown(ENV, { stateRoot: root });
    expect(res.nodes.length).toBe(6);
    expect(netnsWith(ctx.names.netnsPrefix)).toEqual([]);
    expect(linksWith(ctx.names.vethPrefix, BRIDGE)).toEqual([]);
    expect(mountsUnder(root)).toEqual([]);
    for (const p of pids) expect(["runsvdir", "unshare", "nsenter", "node-launch"]).not.toContain(comm(p));
    for (const d of cgroups) expect(existsSync(d), d).toBe(false);
    expect(existsSync(ctx.labDir)).toBe(false);
    if (alone) {
      expect(res.sysctlsRestored).toBe(true);
      expect(readSysctls()).toEqual(sysctlsBefore);
    } else {
      console.warn("another lab is up on this machine: kernel settings stay saved until the last one goes down");
      const holders: string[] = existsSync(reg) ? JSON.parse(readFileSync(reg, "utf8")).holders : [];
      expect(holders).not.toContain(ctx.labDir);
    }
    // A second down is harmless.
    expect((await labDown(ENV, { stateRoot: root })).nodes).toEqual([]);
  }, 60_000);
});
