// `rtcgw node`: every core used. One Node event loop is the limit (decrypting, decoding and
// sending all run on it), so the supervisor forks one worker process per core, each a complete
// media node with its own UDP port, control port and registry entry (see docs/node.md for the
// measurement behind this choice). The supervisor restarts a crashed worker and, on SIGTERM,
// forwards it to every worker and exits 0 once all have drained.
import { type ChildProcess, fork } from "node:child_process";
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import type { Config } from "../config/index.js";
import type { Logger } from "../log/index.js";
import { runMediaNodeProcess } from "./process.js";
import { resolveNodeSecret } from "./secret.js";

export const WORKER_INDEX_ENV = "RTCGW_WORKER_INDEX";
const RESTART_DELAY_MS = 1_000;

export function workerCount(config: Config): number {
  return config.RTCGW_WORKERS > 0 ? config.RTCGW_WORKERS : availableParallelism();
}

/** the port a worker uses: base + index, or 0 (any free port) when the base is 0 */
export function workerPort(base: number, index: number): number {
  return base === 0 ? 0 : base + index;
}

function workerEntry(): string {
  const ts = fileURLToPath(new URL("./worker.ts", import.meta.url));
  return existsSync(ts) ? ts : fileURLToPath(new URL("./worker.js", import.meta.url));
}

export async function runMediaNodeSupervisor(config: Config, logger: Logger): Promise<void> {
  const n = workerCount(config);
  if (n === 1) {
    await runMediaNodeProcess(config, logger);
    return;
  }
  // workers must share one control secret with the signaling: a generated one is handed down
  const { secret, generated } = resolveNodeSecret(config);
  if (generated)
    logger.warn("RTCGW_NODE_SECRET is unset: generated one for this run (signaling elsewhere cannot sign)");
  const workers = new Map<number, ChildProcess>();
  let stopping = false;

  const start = (i: number) => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      [WORKER_INDEX_ENV]: String(i),
      RTCGW_NODE_SECRET: secret,
      NODE_PORT: String(workerPort(config.NODE_PORT, i)),
      MEDIA_UDP_PORT: String(workerPort(config.MEDIA_UDP_PORT, i)),
      ...(config.RTCGW_NODE_URL ? { RTCGW_NODE_URL: offsetUrlPort(config.RTCGW_NODE_URL, i) } : {}),
    };
    const child = fork(workerEntry(), [], { env, stdio: "inherit" });
    workers.set(i, child);
    child.once("exit", (code, signal) => {
      workers.delete(i);
      if (stopping) return;
      logger.error({ worker: i, code, signal }, "media worker exited; restarting it");
      setTimeout(() => !stopping && start(i), RESTART_DELAY_MS).unref();
    });
  };
  for (let i = 0; i < n; i++) start(i);
  logger.info({ workers: n }, "media node supervisor started");

  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal, workers: workers.size }, "stopping workers (each drains)");
      for (const w of workers.values()) w.kill("SIGTERM");
      const check = setInterval(() => {
        if (workers.size === 0) {
          clearInterval(check);
          resolve();
        }
      }, 50);
    };
    process.once("SIGTERM", () => stop("SIGTERM"));
    process.once("SIGINT", () => stop("SIGINT"));
  });
  logger.info("all media workers stopped");
  logger.flush?.();
  setTimeout(() => process.exit(0), 50);
}

/** RTCGW_NODE_URL names worker 0; worker i listens on that port + i */
function offsetUrlPort(url: string, i: number): string {
  const u = new URL(url);
  const port = Number(u.port || (u.protocol === "https:" ? 443 : 80));
  u.port = String(port + i);
  return u.toString().replace(/\/$/, "");
}
