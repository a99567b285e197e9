// One media node as a process of its own: open the registry, start the node, and on SIGTERM (or
// SIGINT) drain — stop taking sessions (503), let them finish within RTCGW_DRAIN_TIMEOUT, close
// the rest, deregister — then exit 0.
import type { Config } from "../../config/index.js";
import type { Logger } from "../../log/index.js";
import { openRegistry } from "../../registry/open.js";
import { type MediaNode, startMediaNode } from "../node.js";
import { DEFAULT_BUSY_UTILIZATION } from "./load-guard.js";

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
    busyUtilization: DEFAULT_BUSY_UTILIZATION,
  });
  const stop = async (n: MediaNode, signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info(
      { signal, sessions: n.sessions(), graceS: config.RTCGW_DRAIN_TIMEOUT },
      "draining before exit",
    );
    try {
      await n.drain(config.RTCGW_DRAIN_TIMEOUT * 1000);
      await n.close();
      await registry.close();
    } catch (e) {
      logger.error({ err: (e as Error).message }, "error while draining");
    }
    logger.info("exiting");
    if (opts.exit ?? true) {
      logger.flush?.();
      setTimeout(() => process.exit(0), 50);
    }
  };
  if (pending) void stop(node, pending);
  return node;
}
