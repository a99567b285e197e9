// Entry of one media worker process (forked by the supervisor, or run directly:
// `tsx src/node/worker.ts` runs a single node with the environment's configuration).
import { loadConfigOrExit } from "../config/index.js";
import { createLogger } from "../log/index.js";
import { runMediaNodeProcess } from "./process.js";

const config = loadConfigOrExit();
const index = process.env.RTCGW_WORKER_INDEX;
const logger = createLogger({
  level: config.LOG_LEVEL,
  ...(index ? { base: { worker: Number(index) } } : {}),
});
runMediaNodeProcess(config, logger).catch((e) => {
  logger.fatal({ err: (e as Error).message }, "media node failed to start");
  logger.flush?.();
  setTimeout(() => process.exit(1), 50);
});
