// Every property test (fast-check) is deterministic: a CI run never meets a case the last one
// did not. FC_SEED=<n> replays a failure (fast-check prints its seed), FC_SEED=random explores
// new cases. A vitest setup file (vitest.config.ts): it runs before each test file, in its context.
import fc from "fast-check";

if (process.env.FC_SEED !== "random") fc.configureGlobal({ seed: Number(process.env.FC_SEED ?? 20261124) });
