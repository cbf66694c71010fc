import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { credentialFromFile, credentialFromOutputs } from "../../src/addons/credentials.js";

const dir = mkdtempSync(join(tmpdir(), "yagura-cred-"));
const write = (name: string, v: unknown, mode = 0o600) => {
  const p = join(dir, name);
  writeFileSync(p, typeof v === "string" ? v : JSON.stringify(v));
  chmodSync(p, mode);
  return p;
};
const CCM = { id: "ccm-id", secret: "ccm-secret" };
const CSI = { id: "csi-id", secret: "csi-secret" };

describe("credentialFromOutputs", () => {
  it.each([
    ["a tfstate", { outputs: { cloud_controller_manager_credential: { value: CCM, sensitive: true } } }, CCM],
    ["terraform output -json", { cinder_csi_credential: { value: CSI, sensitive: true } }, CSI],
    ["a cdktf outputs file", { env1: { cinder_csi_credential: CSI, cloud_controller_manager_credential: CCM } }, CCM],
    ["outputs without a credential", { outputs: { nodes: { value: [] } } }, undefined],
  ])("reads %s", (_what, doc, want) => {
    expect(credentialFromOutputs("env1", write(`${_what}.json`, doc))).toEqual(want);
  });

  it("is undefined without an outputs file", () => {
    expect(credentialFromOutputs("env1", join(dir, "none.json"))).toBeUndefined();
  });
});

describe("credentialFromFile", () => {
  it("reads a 0600 file", () => {
    expect(credentialFromFile(write("ok.json", CCM))).toEqual(CCM);
  });

  it("refuses a file others can read, saying how to fix it", () => {
    const p = write("open.json", CCM, 0o644);
    expect(() => credentialFromFile(p)).toThrow(`chmod 600 ${p}`);
  });

  it("never repeats the file's content in its errors", () => {
    const p = write("bad.json", { id: "x", secret: "", other: "s3cr3t-value" });
    let msg = "";
    try {
      credentialFromFile(p);
    } catch (err) {
      msg = (err as Error).message;
    }
    expect(msg).toContain('"secret"');
    expect(msg).not.toContain("s3cr3t-value");
    const q = write("notjson.json", "s3cr3t-value{");
    expect(() => credentialFromFile(q)).toThrow(/is not JSON/);
    expect(() => credentialFromFile(q)).not.toThrow(/s3cr3t/);
  });
});
