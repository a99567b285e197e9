// `npm run bench <name> [-- args]`: runs one benchmark (or `all`), each in its own process so one
// cannot warm or load the heap of the next. Every benchmark prints its figures beside an anchor
// measured in the same run.
import { spawnSync } from "node:child_process";

const BENCHES: Record<string, string[]> = {
  registry: ["tsx", "bench/registry.bench.ts"],
  resampler: ["node", "--expose-gc", "bench/resampler/run.mjs"],
  pipeline: ["tsx", "bench/pipeline.bench.ts"],
  functions: ["tsx", "bench/functions.bench.ts"],
  signaling: ["tsx", "bench/signaling.bench.ts"],
  sessions: ["tsx", "bench/sessions.bench.ts"],
  "opus-complexity": ["tsx", "bench/opus-complexity.bench.ts"],
  "opus-encoder": ["tsx", "bench/opus-encoder.bench.ts"],
};

const [name, ...rest] = process.argv.slice(2);
if (!name || name === "--help" || (name !== "all" && !BENCHES[name])) {
  process.stderr.write(
    `usage: npm run bench <name> [-- args]\n  names: ${Object.keys(BENCHES).join(", ")}, all\n` +
      `  (also npm run bench:<name>)\n`,
  );
  process.exit(name && name !== "--help" ? 2 : 0);
}
const names = name === "all" ? Object.keys(BENCHES) : [name];
let failed = 0;
for (const n of names) {
  const [cmd, ...args] = BENCHES[n]!;
  process.stdout.write(`\n== bench ${n}\n`);
  const bin = cmd === "tsx" ? "npx" : cmd!;
  const argv = cmd === "tsx" ? ["tsx", ...args, ...rest] : [...args, ...rest];
  const r = spawnSync(bin, argv, { stdio: "inherit" });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
