// `rtcgw signaling`: the emulated functions alone (no node, no demo page) against a registry
// shared with separately running media nodes — the local stand-in for API Gateway + Lambda.
import { withRunTimeSecrets } from "../aws/run-time-secrets.js";
import { loadConfigOrExit } from "../config/index.js";
import { FUNCTION_HANDLERS } from "../emulator/functions.js";
import { startEmulator } from "../emulator/server.js";
import { createLogger, setRootLogger } from "../log/index.js";
import { openRegistry } from "../registry/index.js";
import { makeSignalingDeps, setSignalingDeps } from "../signaling/deps.js";
import { orPortHint } from "./listen-error.js";
import { onShutdown } from "./shutdown.js";

export async function runSignaling(opts: { host: string }): Promise<void> {
  const plain = loadConfigOrExit();
  let config = plain;
  try {
    // the secrets named by *_ARN (node secret, API token, client-token secret, TURN secret) from
    // Secrets Manager, read once now — as the node at its start and a function at its first call
    config = await withRunTimeSecrets(plain);
  } catch (e) {
    process.stderr.write(`rtcgw: could not read a secret from Secrets Manager: ${(e as Error).message}\n`);
    process.exit(1);
  }
  const problems: string[] = [];
  if (config.RTCGW_REGISTRY.kind === "memory")
    problems.push(
      "RTCGW_REGISTRY: the signaling alone needs a registry shared with the media nodes: set redis://host:6379 or dynamodb:TABLE (memory only works inside `rtcgw dev`)",
    );
  if (!config.RTCGW_NODE_SECRET)
    problems.push(
      "RTCGW_NODE_SECRET (or RTCGW_NODE_SECRET_ARN, a Secrets Manager secret): set the same secret (16+ characters) here and on every media node",
    );
  if (problems.length) {
    process.stderr.write(`rtcgw: invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}\n`);
    process.exit(2);
  }
  const logger = createLogger({ level: config.LOG_LEVEL, base: { component: "signaling" } });
  setRootLogger(logger);
  const registry = await openRegistry(config.RTCGW_REGISTRY, { logger });
  setSignalingDeps(makeSignalingDeps({ config, registry, logger, nodeSecret: config.RTCGW_NODE_SECRET! }));
  const emulator = await orPortHint("PORT", config.PORT, () =>
    startEmulator({ handlers: FUNCTION_HANDLERS, logger, port: config.PORT, host: opts.host }),
  );
  process.stdout.write(`rtcgw signaling listening on ${emulator.url} (registry: ${registry.kind})\n`);
  onShutdown(logger, async () => {
    await emulator.close();
    await registry.close();
  });
}
