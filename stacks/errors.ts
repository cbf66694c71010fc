/**
 * Errors the stacks raise. Each says what is wrong, where, and what to change; construct
 * validation names the property and the value it got.
 */
import { formatProblem, type Problem } from "../src/inventory/problem.js";

/** A construct received a property value it cannot build from. */
export class StackPropError extends Error {
  override readonly name = "StackPropError";
}

/** An inventory failed validation; synthesis stops with every problem, one per line. */
export class InventoryInvalidError extends Error {
  override readonly name = "InventoryInvalidError";
  constructor(readonly problems: readonly Problem[]) {
    super(
      `the inventory has ${problems.length} problem(s); fix them and synthesize again:\n` +
        problems.map((p) => "  " + formatProblem(p)).join("\n"),
    );
  }
}

/** Builds the error for a bad property: `<Construct>: props.<prop> is <value>: <why>`. */
export function invalidProp(construct: string, prop: string, value: unknown, why: string): StackPropError {
  return new StackPropError(`${construct}: props.${prop} is ${JSON.stringify(value)}: ${why}`);
}

/** A synthesized stack does not match the provider schema: a bug in a construct, caught before Terraform. */
export class SchemaMismatchError extends Error {
  override readonly name = "SchemaMismatchError";
  constructor(
    readonly stackName: string,
    readonly findings: readonly { kind: string; at: string; message: string }[],
  ) {
    super(
      `stack ${stackName} does not match the OpenStack provider schema (a bug in yagura's constructs):\n` +
        findings.map((f) => `  ${f.kind}: ${f.at}: ${f.message}`).join("\n"),
    );
  }
}
