import { defineConfig } from "vitest/config";

// Tests that break shared things (they restart the PostgreSQL server): one file at a time,
// after the main suite, so nothing else is running against the server when it goes down.
export default defineConfig({
  test: {
    include: ["test/faults/**/*.test.ts"],
    testTimeout: 180_000,
    hookTimeout: 60_000,
    fileParallelism: false,
  },
});
