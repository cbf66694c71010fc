import { defineConfig } from "vitest/config";

// Unit, stack and lab tests. Lab tests create network namespaces and need root; they run one file
// at a time (they share the host's kernel settings) and skip with a message where they cannot run.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    reporters: ["default"],
  },
});
