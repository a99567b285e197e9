// `tsx src/node/process/main.ts`: the supervisor (one worker per core, or RTCGW_WORKERS), as `rtcgw node` runs it.
import { loadConfigOrExit } from "../../config/index.js";
import { createLogger } from "../../log/index.js";
import { runMediaNodeSupervisor } from "./supervisor.js";

const config = loadConfigOrExit();
const logger = createLogger({ level: config.LOG_LEVEL });
runMediaNodeSupervisor(config, logger).catch((e) => {
  logger.fatal({ err: (e as Error).message }, "media node supervisor failed");
  logger.flush?.();
  setTimeout(() => process.exit(1), 50);
});
