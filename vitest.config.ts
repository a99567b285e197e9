import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // the fault suite runs on its own (npm run test:faults, vitest.faults.config.ts)
    exclude: ["test/faults/**", "**/node_modules/**"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Media tests bind UDP ports and spawn servers: files run in separate forks, a few at a time.
    pool: "forks",
    maxWorkers: 2,
    // fast-check's seed, fixed unless FC_SEED says otherwise
    setupFiles: ["test/support/fast-check-seed.ts"],
  },
});
