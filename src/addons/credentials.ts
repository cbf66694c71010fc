/**
 * The application credential cloud.conf carries. From the stack outputs first (the CCM's
 * credential, else Cinder CSI's: they share one cloud.conf), else from the JSON file named by
 * `addons.cloudCredentialFile`, which must not be readable by others. The secret is never logged.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { z } from "zod";
import type { ClusterSpec } from "../cluster/spec.js";
import { localStatePath } from "../infra/stack-outputs.js";
import type { CloudCredential } from "./render/cloud.js";
import { UserError } from "../cli/errors.js";

const credentialSchema = z.object({ id: z.string().min(1), secret: z.string().min(1) });

/** Stack outputs that may hold the credential, in the order they are tried. */
export const CREDENTIAL_OUTPUTS = ["cloud_controller_manager_credential", "cinder_csi_credential"] as const;

/** Finds an output in a tfstate, a `terraform output -json` or a cdktf outputs file. */
function pickOutput(doc: unknown, env: string, name: string): unknown {
  const o = doc as Record<string, unknown> | null;
  if (!o || typeof o !== "object") return undefined;
  const outputs = (o["outputs"] ?? o) as Record<string, unknown>;
  const v = outputs[name] as { value?: unknown } | undefined;
  if (v && typeof v === "object" && "value" in v) return v.value;
  const perStack = o[env] as Record<string, unknown> | undefined;
  return perStack && typeof perStack === "object" ? perStack[name] : undefined;
}

/** The credential from the stack outputs, when they hold one. */
export function credentialFromOutputs(env: string, outputsFile?: string): CloudCredential | undefined {
  const file = outputsFile ?? localStatePath(env);
  if (!existsSync(file)) return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, "utf8"));
  } catch {
    return undefined; // readStackNodes reports an unreadable outputs file with the fix
  }
  for (const name of CREDENTIAL_OUTPUTS) {
    const parsed = credentialSchema.safeParse(pickOutput(doc, env, name));
    if (parsed.success) return parsed.data;
  }
  return undefined;
}

/** The credential from `addons.cloudCredentialFile` (relative to the inventory); throws saying what to fix. */
export function credentialFromFile(file: string): CloudCredential {
  if (!existsSync(file)) throw new UserError(`addons.cloudCredentialFile ${file} does not exist`);
  if ((statSync(file).mode & 0o077) !== 0) {
    throw new UserError(`addons.cloudCredentialFile ${file} is readable by others: chmod 600 ${file}`);
  }
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(file, "utf8"));
  } catch {
    throw new UserError(`addons.cloudCredentialFile ${file} is not JSON: write {"id": "…", "secret": "…"}`);
  }
  const parsed = credentialSchema.safeParse(v);
  // The message names the fields only: the file's content is a secret.
  if (!parsed.success)
    throw new UserError(`addons.cloudCredentialFile ${file} needs non-empty "id" and "secret" fields`);
  return parsed.data;
}

/** The credential for cloud.conf, or undefined when neither the outputs nor a file provide one. */
export function cloudCredential(
  spec: ClusterSpec,
  o: { readonly inventoryFile: string; readonly outputsFile?: string },
): CloudCredential | undefined {
  const fromOutputs = credentialFromOutputs(spec.env, o.outputsFile ?? process.env["YAGURA_STACK_OUTPUTS"]);
  if (fromOutputs) return fromOutputs;
  const file = spec.inventory.addons.cloudCredentialFile;
  return file ? credentialFromFile(resolve(dirname(o.inventoryFile), file)) : undefined;
}
