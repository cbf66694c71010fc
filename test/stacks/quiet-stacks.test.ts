import { describe, expect, it } from "vitest";
import { withoutCreationStacks } from "../../stacks/quiet-stacks.js";

describe("withoutCreationStacks", () => {
  it("skips stack capture inside and restores it afterwards, also when the callback throws", () => {
    const inside = withoutCreationStacks(() => {
      const o = { stack: "" };
      Error.captureStackTrace(o);
      return o.stack;
    });
    expect(inside).toBe("");
    expect(() =>
      withoutCreationStacks(() => {
        throw new Error("boom");
      }),
    ).toThrow("boom");
    const o = { stack: "" };
    Error.captureStackTrace(o);
    expect(o.stack).toMatch(/\n\s+at /);
  });
});
