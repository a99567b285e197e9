// `rtcgw node`: a media node (one worker per core under a supervisor) registering itself in the
// shared registry; the signaling reaches it over its control API.
import { withRunTimeSecrets } from "../aws/run-time-secrets.js";
import { loadConfigOrExit } from "../config/index.js";
import { createLogger, setRootLogger } from "../log/index.js";
import { runMediaNodeSupervisor, WorkerStartError, workerCount, workerPort } from "../node/index.js";
import { uploadLeftovers } from "../recordings/index.js";
import { portProblem } from "./listen-error.js";
import { exitOnPreflight, preflightProblem } from "./preflight-error.js";

export async function runNode(): Promise<void> {
  const config = loadConfigOrExit();
  if (config.RTCGW_REGISTRY.kind === "memory") {
    process.stderr.write(
      "rtcgw: invalid configuration:\n  - RTCGW_REGISTRY: a media node on its own must share a registry with the signaling: set redis://host:6379 or dynamodb:TABLE (memory only works inside `rtcgw dev`)\n",
    );
    process.exit(2);
  }
  const logger = createLogger({ level: config.LOG_LEVEL, base: { component: "node" } });
  setRootLogger(logger);
  let resolved = config;
  try {
    // the control secret from Secrets Manager, read now (never from a file written at boot)
    resolved = await withRunTimeSecrets(config);
  } catch (e) {
    logger.fatal({ err: (e as Error).message }, "could not read a secret from Secrets Manager");
    logger.flush?.();
    process.exit(1);
  }
  // recordings a previous run could not upload (a crash, an outage) go to the bucket now
  if (resolved.RTCGW_RECORDINGS_BUCKET) void uploadLeftovers(resolved, logger);
  try {
    await runMediaNodeSupervisor(resolved, logger);
  } catch (e) {
    if (preflightProblem(e)) exitOnPreflight(e, logger);
    // the control port taken (by this worker's NODE_PORT + index) is a setting to change: exit 2
    const failed =
      e instanceof WorkerStartError ? e.report : (e as NodeJS.ErrnoException & { port?: number });
    const worker = e instanceof WorkerStartError ? e.worker : 0;
    const why =
      worker > 0 ? ` (worker ${worker} of ${workerCount(config)} listens on NODE_PORT + ${worker})` : "";
    const message =
      failed?.port === undefined
        ? undefined
        : !(e instanceof WorkerStartError) && failed.port === config.RTCGW_METRICS_PORT
          ? portProblem("RTCGW_METRICS_PORT", failed.port, failed.code)
          : failed.port === workerPort(config.NODE_PORT, worker)
            ? portProblem("NODE_PORT", failed.port, failed.code, why)
            : undefined;
    if (!message) throw e;
    logger.flush?.();
    process.stderr.write(message);
    process.exit(2);
  }
}
