/**
 * Cross-field rules over a schema-valid inventory. Each rule is a small function that returns
 * findings; `runRules` collects every finding of every rule so the user sees all problems at once.
 */
import type { Inventory } from "../schema.js";
import { nameRules } from "./names.js";
import { nodeRules } from "./nodes.js";
import { addressRules } from "./addresses.js";
import { networkRules } from "./network.js";
import { calicoRules } from "./calico.js";
import { kubernetesRules } from "./kubernetes.js";
import { artifactRules } from "./artifacts.js";
import { openstackRules } from "./openstack.js";
import { storageRules } from "./storage.js";
import { safetyRules } from "./safety.js";
import { backupRules } from "./backup.js";
import { addonRules } from "./addons.js";

/** One rule violation: where in the document, and what to change. */
export interface Finding {
  readonly path: (string | number)[];
  readonly message: string;
}

/** A rule inspects the whole inventory and reports findings; it must never throw. */
export type Rule = (inv: Inventory) => Finding[];

/** Every rule, in the order their findings are reported: safety first, since it explains the rest. */
export const RULES: readonly Rule[] = [
  ...safetyRules,
  ...nameRules,
  ...nodeRules,
  ...addressRules,
  ...networkRules,
  ...calicoRules,
  ...kubernetesRules,
  ...artifactRules,
  ...openstackRules,
  ...storageRules,
  ...backupRules,
  ...addonRules,
];

/** Runs every rule; a rule that throws is reported as a bug instead of crashing validation. */
export function runRules(inv: Inventory): Finding[] {
  const out: Finding[] = [];
  for (const rule of RULES) {
    try {
      out.push(...rule(inv));
    } catch (err) {
      out.push({
        path: [],
        message: `internal error in rule ${rule.name} (a bug in yagura): ${(err as Error).message}`,
      });
    }
  }
  return out;
}
