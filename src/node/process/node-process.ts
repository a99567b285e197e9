// One media node as a process of its own: open the registry, start the node, and on SIGTERM (or
// SIGINT) drain — stop taking sessions (503), let them finish within RTCGW_DRAIN_TIMEOUT, close
// the rest, deregister — then exit 0.
import { availableParallelism } from "node:os";
import type { Config } from "../../config/index.js";
import { exitAfterLogs, type Logger, logSafely } from "../../log/index.js";
import { openRegistry } from "../../registry/open.js";
import { type MediaNode, startMediaNode } from "../node.js";

export interface NodeProcessOptions {
  nodeId?: string;
  controlPort?: number;
  udpPort?: number;
  /** exit the process after draining (default true) */
  exit?: boolean;
}

export async function runMediaNodeProcess(
  config: Config,
  logger: Logger,
  opts: NodeProcessOptions = {},
): Promise<MediaNode> {
  // A signal during start (the supervisor stopping, or a fast Ctrl-C) drains once the node is up.
  // Later signals change nothing: on Ctrl-C a worker gets SIGINT from the terminal and SIGTERM
  // from its supervisor, and must drain once.
  let node: MediaNode | undefined;
  let pending: string | undefined;
  let stopping = false;
  const onSignal = (signal: string) => {
    if (node) void stop(node, signal);
    else pending ??= signal;
  };
  process.on("SIGTERM", () => onSignal("SIGTERM"));
  process.on("SIGINT", () => onSignal("SIGINT"));
  // A worker dies with its supervisor: when the IPC channel closes (the supervisor exited, even
  // by kill -9, which forwards no signal) nobody will restart, stop or deregister this worker,
  // and a new supervisor could not bind its port. So it stops at once — its calls are closed
  // now (recordings finalised), not drained — deregisters and exits.
  if (process.send) process.once("disconnect", () => onSignal("supervisor-gone"));

  const registry = await openRegistry(config.RTCGW_REGISTRY, { logger });
  if (config.RTCGW_REGISTRY.kind === "memory")
    logger.warn(
      "RTCGW_REGISTRY=memory: the registry lives in this process only; signaling elsewhere cannot see this node",
    );
  node = await startMediaNode({
    config,
    registry,
    logger,
    ...(opts.nodeId ? { nodeId: opts.nodeId } : {}),
    ...(opts.controlPort !== undefined ? { controlPort: opts.controlPort } : {}),
    ...(opts.udpPort !== undefined ? { udpPort: opts.udpPort } : {}),
    // a node process owns its loop: refuse sessions (503 node-busy) once it is saturated
    // (RTCGW_BUSY_AT, 0 = no such line)
    ...(config.RTCGW_BUSY_AT > 0 ? { busyUtilization: config.RTCGW_BUSY_AT } : {}),
    // and once its media clock lags toward the point where a real-time sender skips frames as
    // stale (RTCGW_BUSY_LAG_MS, 0 = no such line)
    ...(config.RTCGW_BUSY_LAG_MS > 0 ? { busyLagMs: config.RTCGW_BUSY_LAG_MS } : {}),
    // the workers share the cores the process may run on (RTCGW_WORKERS, 0 = one per core):
    // each one's CPU counts against its share of them
    busyCpuCores: availableParallelism() / (config.RTCGW_WORKERS || availableParallelism()),
  });
  const stop = async (n: MediaNode, signal: string) => {
    if (stopping) return;
    stopping = true;
    // the lifecycle lines name the node: a worker's drain matched with its registry entry
    const log = logger.child({ nodeId: n.id });
    const graceMs = signal === "supervisor-gone" ? 0 : config.RTCGW_DRAIN_TIMEOUT * 1000;
    logSafely(() =>
      log.info({ signal, sessions: n.sessions(), graceS: graceMs / 1000 }, "draining before exit"),
    );
    try {
      await n.drain(graceMs);
      await n.close();
      await registry.close();
    } catch (e) {
      log.error({ err: (e as Error).message }, "error while draining");
    }
    logSafely(() => log.info("exiting"));
    if (opts.exit ?? true) {
      exitAfterLogs(logger, 0);
    }
  };
  if (pending) void stop(node, pending);
  return node;
}
