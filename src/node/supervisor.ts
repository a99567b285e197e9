// placeholder replaced below
import type { Config } from "../config/index.js";
import type { Logger } from "../log/index.js";

export async function runMediaNodeSupervisor(_config: Config, _logger: Logger): Promise<void> {
  throw new Error("not yet");
}
