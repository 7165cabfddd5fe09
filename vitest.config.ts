import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    exclude: ["test/faults/**", "node_modules/**"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Process tests spawn workers of their own; two cores are shared by everything.
    fileParallelism: true,
    maxWorkers: 2,
  },
});
