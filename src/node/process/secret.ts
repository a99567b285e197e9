// The control API's shared secret. Production sets RTCGW_NODE_SECRET (the same value on the
// signaling side). In dev it may be unset: one random secret is generated per process and shared
// with everything in that process (`rtcgw dev` runs signaling and node together).
import { randomBytes } from "node:crypto";
import type { Config } from "../../config/index.js";

let generated: string | undefined;

export function resolveNodeSecret(config: Pick<Config, "RTCGW_NODE_SECRET">): {
  secret: string;
  generated: boolean;
} {
  if (config.RTCGW_NODE_SECRET) return { secret: config.RTCGW_NODE_SECRET, generated: false };
  generated ??= randomBytes(32).toString("hex");
  return { secret: generated, generated: true };
}
