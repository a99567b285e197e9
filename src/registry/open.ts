// Open the store named by RTCGW_REGISTRY. Each store is imported dynamically, so a process only
// loads the SDK it uses; a function bundle goes further: esbuild `define`s
// process.env.RTCGW_BUNDLE_REGISTRY to "memory" | "redis" | "dynamodb", the other branches become
// dead code, and their stores and SDKs are dropped from the bundle. Unbundled, all are available.
import type { RegistryUrl } from "../config/index.js";
import type { Logger } from "../log/index.js";
import { RegistryError } from "./errors.js";
import type { Registry } from "./types.js";

export interface OpenRegistryOptions {
  /** bound on connecting and on each round trip (redis, dynamodb), ms; default 1000 */
  timeoutMs?: number;
  /** clock in epoch ms (memory and dynamodb compute expiry on the client; redis uses the server's) */
  now?: () => number;
  /** redis key prefix (default "rtcgw:") */
  keyPrefix?: string;
  logger?: Logger;
  /** dynamodb only, for dev and tests: create the table if it is missing (production tables come from infra/) */
  ensureTable?: boolean;
}

export async function openRegistry(url: RegistryUrl, opts: OpenRegistryOptions = {}): Promise<Registry> {
  // Written out in each condition (not via a local const) so esbuild's define + constant folding
  // turns the unused branches into `if (false)` and drops their imports.
  switch (url.kind) {
    case "memory":
      if (!process.env.RTCGW_BUNDLE_REGISTRY || process.env.RTCGW_BUNDLE_REGISTRY === "memory") {
        const { MemoryRegistry } = await import("./memory.js");
        return new MemoryRegistry(opts.now ? { now: opts.now } : {});
      }
      break;
    case "redis":
      if (!process.env.RTCGW_BUNDLE_REGISTRY || process.env.RTCGW_BUNDLE_REGISTRY === "redis") {
        const { RedisRegistry } = await import("./redis.js");
        return new RedisRegistry(url.url, {
          ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
          ...(opts.keyPrefix !== undefined ? { keyPrefix: opts.keyPrefix } : {}),
          ...(opts.logger ? { logger: opts.logger } : {}),
        });
      }
      break;
    case "dynamodb":
      if (!process.env.RTCGW_BUNDLE_REGISTRY || process.env.RTCGW_BUNDLE_REGISTRY === "dynamodb") {
        const { DynamoRegistry } = await import("./dynamodb.js");
        const r = new DynamoRegistry({
          table: url.table,
          ...(url.endpoint ? { endpoint: url.endpoint } : {}),
          ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
          ...(opts.now ? { now: opts.now } : {}),
        });
        if (opts.ensureTable) await r.ensureTable();
        return r;
      }
      break;
  }
  throw new RegistryError(
    `RTCGW_REGISTRY asks for the ${url.kind} store, but this bundle was built with only the ` +
      `${process.env.RTCGW_BUNDLE_REGISTRY} store: rebuild it with RTCGW_BUNDLE_REGISTRY=${url.kind}`,
  );
}
