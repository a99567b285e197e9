// `rtcgw agent`: the media instance's companion in an Auto Scaling group (src/ops/agent.ts) —
// per-instance metrics to CloudWatch and the termination lifecycle hook's drain.
import { loadConfigOrExit } from "../config/index.js";
import { createLogger } from "../log/index.js";
import { runAgent } from "../ops/agent.js";
import { loadAgentConfig } from "../ops/agent-config.js";

export async function runAgentCommand(): Promise<void> {
  const config = loadConfigOrExit();
  let agentConfig: ReturnType<typeof loadAgentConfig>;
  try {
    agentConfig = loadAgentConfig();
  } catch (e) {
    process.stderr.write(`rtcgw: ${(e as Error).message}\n`);
    process.exit(2);
  }
  const logger = createLogger({ level: config.LOG_LEVEL, base: { component: "agent" } });
  const agent = await runAgent(config, agentConfig, logger);
  const stop = () => void agent.stop();
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  await agent.done;
  logger.info("agent stopped");
  logger.flush?.();
  setTimeout(() => process.exit(0), 50);
}
