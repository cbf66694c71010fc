import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { matchGolden as matchGoldenIn } from "../support/golden.js";
import { etcdServiceDef } from "../../src/ops/etcd/layout.js";
import { runitSupervisor } from "../../src/supervisor/runit.js";
import { systemdSupervisor, systemdQuote } from "../../src/supervisor/systemd.js";
import { fingerprintFiles } from "../../src/supervisor/fingerprint.js";

const golden = join(dirname(fileURLToPath(import.meta.url)), "golden");
const matchGolden = (name: string, text: string) => matchGoldenIn(golden, name, text);

const node = { name: "node1", address: "10.79.0.11" };

describe("etcd service definitions", () => {
  it("runit run script matches the golden file", () => {
    const files = runitSupervisor().render(etcdServiceDef(node));
    expect(files.map((f) => f.path)).toEqual(["/etc/yagura/sv/etcd/run", "/etc/yagura/sv/etcd/log/run"]);
    matchGolden("etcd.runit.run", files[0]!.content);
    matchGolden("etcd.runit.log-run", files[1]!.content);
    expect(files.every((f) => f.mode === 0o755)).toBe(true);
  });

  it("systemd unit matches the golden file", () => {
    const files = systemdSupervisor().render(etcdServiceDef(node));
    expect(files.map((f) => f.path)).toEqual(["/etc/systemd/system/etcd.service"]);
    matchGolden("etcd.service", files[0]!.content);
  });

  it("a hostile node name stays one quoted word in the run script", () => {
    const files = runitSupervisor().render(etcdServiceDef({ name: "x'; rm -rf / #", address: "10.79.0.11" }));
    expect(files[0]!.content).toContain(`'--name=x'\\''; rm -rf / #'`);
    expect(systemdQuote('a "b" $c')).toBe('"a \\"b\\" $$c"');
  });

  it("the fingerprint changes with any flag and not with file order", () => {
    const sup = runitSupervisor();
    const a = sup.render(etcdServiceDef(node));
    const b = sup.render(etcdServiceDef({ ...node, address: "10.79.0.12" }));
    expect(fingerprintFiles(a)).not.toBe(fingerprintFiles(b));
    expect(fingerprintFiles([...a].reverse())).toBe(fingerprintFiles(a));
  });
});
