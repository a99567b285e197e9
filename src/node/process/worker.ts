// Entry of one media worker process (forked by the supervisor, or run directly:
// `tsx src/node/process/worker.ts` runs a single node with the environment's configuration).
// Forked, it reports to the supervisor whether it started (see worker-report.ts).
import { loadConfigOrExit } from "../../config/index.js";
import { createLogger, exitAfterLogs } from "../../log/index.js";
import { defaultNodeId } from "../node.js";
import { runMediaNodeProcess } from "./node-process.js";
import { failedReport, type WorkerReport } from "./worker-report.js";

const config = loadConfigOrExit();
const index = process.env.RTCGW_WORKER_INDEX;
const logger = createLogger({
  level: config.LOG_LEVEL,
  ...(index ? { base: { worker: Number(index) } } : {}),
});
const report = (r: WorkerReport) => process.send?.(r);
const nodeId = defaultNodeId();
// the call runs up to its first await: signal handlers installed, nothing registered yet; so
// "starting" (which names the node id the supervisor may have to deregister) goes now
const started = runMediaNodeProcess(config, logger, { nodeId });
report({ type: "starting", nodeId });
started.then(
  (node) => report({ type: "ready", nodeId: node.id, controlUrl: node.controlUrl, udpPort: node.udpPort }),
  (e) => {
    logger.fatal({ nodeId, err: (e as Error).message }, "media node failed to start");
    report(failedReport(e));
    exitAfterLogs(logger, 1);
  },
);
