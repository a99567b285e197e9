// The fault suite (`npm run test:faults`): real processes (signaling, two nodes, redis-server)
// killed, stopped and starved for real. Apart from the unit/integration suite: each file starts
// a whole deployment, so files run one at a time.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/faults/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: "forks",
    maxWorkers: 1,
  },
});
