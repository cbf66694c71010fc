import { defineConfig } from "vitest/config";

/**
 * Test files that change the host itself (network namespaces, veths, bridges, sysctls, lab nodes):
 * they run one file at a time, after everything else. The rest run two files at a time.
 */
const HOST_TESTS = [
  "test/**/*.e2e.test.ts",
  "test/lab/plan.test.ts",
  "test/lab/boot-wait.test.ts",
  "test/decide/pod-network.test.ts",
];

// Unit, stack and lab tests. Lab tests need root and skip with a message where they cannot run.
export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 120_000,
    reporters: ["default"],
    // vitest's default is one worker less than the CPUs: a single one on a 2-core machine.
    maxWorkers: 2,
    minWorkers: 1,
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: ["test/**/*.test.ts"],
          exclude: HOST_TESTS,
          fileParallelism: true,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: "host",
          include: HOST_TESTS,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
