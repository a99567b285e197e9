// The control API's secret, resolved at run time: RTCGW_NODE_SECRET if set (dev, tests), else the
// Secrets Manager secret RTCGW_NODE_SECRET_ARN names — the node reads it at start, a function at
// its first invocation (and keeps it for the instance's life). It is never written to a file nor
// put in a function's environment in plaintext.
import type { Config } from "../config/index.js";
import { getSecretString } from "./secrets-manager.js";

export async function withNodeSecret<C extends Pick<Config, "RTCGW_NODE_SECRET" | "RTCGW_NODE_SECRET_ARN">>(
  config: C,
): Promise<C> {
  if (config.RTCGW_NODE_SECRET || !config.RTCGW_NODE_SECRET_ARN) return config;
  const secret = await getSecretString(config.RTCGW_NODE_SECRET_ARN);
  if (secret.length < 16)
    throw new Error(`the secret ${config.RTCGW_NODE_SECRET_ARN} is shorter than 16 characters`);
  return { ...config, RTCGW_NODE_SECRET: secret };
}
