import { defineConfig } from "vitest/config";

/**
 * Test files that change the host itself (network namespaces, veths, bridges, sysctls, lab nodes).
 * They are the `host` project; everything else is `unit`.
 */
const HOST_TESTS = [
  "test/**/*.e2e.test.ts",
  "test/lab/plan.test.ts",
  "test/lab/boot-wait.test.ts",
  "test/decide/pod-network.test.ts",
];

// One file at a time unless told otherwise: lab tests need root, share the host's kernel, and skip
// with a message where they cannot run. scripts/test.sh and `npm run test:unit` run the `unit`
// project two files at a time (--fileParallelism --maxWorkers 2; vitest takes both only for the
// whole run, not per project), then the `host` project one file at a time.
export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 120_000,
    reporters: ["default"],
    fileParallelism: false,
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: ["test/**/*.test.ts"],
          exclude: HOST_TESTS,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: "host",
          include: HOST_TESTS,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
