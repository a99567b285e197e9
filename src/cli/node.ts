// `rtcgw node`: a media node (one worker per core under a supervisor) registering itself in the
// shared registry; the signaling reaches it over its control API.
import { loadConfigOrExit } from "../config/index.js";
import { createLogger, setRootLogger } from "../log/index.js";
import { runMediaNodeSupervisor } from "../node/index.js";

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
  await runMediaNodeSupervisor(config, logger);
}
