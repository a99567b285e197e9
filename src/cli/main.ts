// Entry point of the `rtcgw` CLI (`npm start` runs `tsx src/cli/main.ts dev`).
import { buildProgram } from "./program.js";

buildProgram()
  .parseAsync(process.argv)
  .catch((e: unknown) => {
    process.stderr.write(`rtcgw: ${(e as Error)?.message ?? String(e)}\n`);
    process.exit(1);
  });
