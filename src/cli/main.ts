// Entry point of the `rtcgw` CLI (`npm start` runs `tsx src/cli/main.ts dev`).
import { buildProgram } from "./program.js";

// Whoever reads our stdout may go away (`npm start | head -c 300`): a write then fails with
// EPIPE, which is no reason to crash or to hang — the process goes on without its output.
for (const stream of [process.stdout, process.stderr])
  stream.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code !== "EPIPE") throw e;
  });

buildProgram()
  .parseAsync(process.argv)
  .catch((e: unknown) => {
    process.stderr.write(`rtcgw: ${(e as Error)?.message ?? String(e)}\n`);
    process.exit(1);
  });
