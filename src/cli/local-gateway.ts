// The whole gateway in one process: a registry, one media node, the function handlers wired to
// them through injected signaling dependencies, and (optionally) the API Gateway emulator in
// front. `rtcgw dev` runs it; the function, end-to-end and node tests and the signaling bench
// start the same thing, so the wiring lives here once.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Config } from "../config/index.js";
import { FUNCTION_HANDLERS } from "../emulator/functions.js";
import { type Emulator, startEmulator } from "../emulator/server.js";
import type { Logger } from "../log/index.js";
import { type MediaNode, startMediaNode } from "../node/index.js";
import { MemoryRegistry } from "../registry/memory.js";
import type { Registry } from "../registry/types.js";
import {
  clearSignalingDeps,
  makeSignalingDeps,
  type SignalingDepsInput,
  setSignalingDeps,
  withSignalingDeps,
} from "../signaling/deps.js";

/** Wraps each listen so a caller can turn a bind failure into its own message (`orPortHint`). */
export type BindGuard = <T>(
  variable: "NODE_PORT" | "PORT",
  port: number,
  start: () => Promise<T>,
) => Promise<T>;

export interface LocalNodeOptions {
  config: Config;
  logger: Logger;
  /** default: a fresh memory registry */
  registry?: Registry;
  /** the node's admission guard line (event-loop utilisation); default: off (see below) */
  busyUtilization?: number;
  /** the admission guard's loop-lag line (ms); default: off */
  busyLagMs?: number;
  /** control API port; default 0 (a free port: the control API is internal here) */
  controlPort?: number;
  /** the muxed media UDP port; default 0 (a free port) */
  udpPort?: number;
  bind?: BindGuard;
}

export interface LocalNode<R extends Registry = MemoryRegistry> {
  registry: R;
  node: MediaNode;
}

export interface LocalGatewayOptions extends LocalNodeOptions {
  /** false: no HTTP front, the handlers are invoked directly (the function tests) */
  emulator?: boolean;
  /** the emulator's port; default 0 (a free port) */
  port?: number;
  host?: string;
  /** dev-only extras served before the routes (the demo page, recordings) */
  extra?: (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;
  controlTimeoutMs?: number;
}

export interface LocalGateway<R extends Registry = MemoryRegistry> extends LocalNode<R> {
  /** undefined when started with `emulator: false` */
  emulator: Emulator | undefined;
  /** what the handlers were wired with (to re-wire them with changes) */
  signaling: SignalingDepsInput;
  /** re-wire this gateway's handlers (a test's clock set back); its emulator answers with these */
  setSignaling(input: SignalingDepsInput): void;
  /** stop intake (emulator), drain the node if asked, close it, unwire the handlers, close the registry */
  close(o?: { drainMs?: number }): Promise<void>;
}

/** Started with the emulator in front (the default). */
export type ServedLocalGateway<R extends Registry = MemoryRegistry> = LocalGateway<R> & {
  emulator: Emulator;
};

const passThrough: BindGuard = (_variable, _port, start) => start();

/** A registry (memory unless given) and one media node, on free ports unless asked otherwise. */
export async function startLocalNode<R extends Registry = MemoryRegistry>(
  o: LocalNodeOptions & { registry?: R },
): Promise<LocalNode<R>> {
  const registry = (o.registry ?? new MemoryRegistry()) as R;
  const controlPort = o.controlPort ?? 0;
  const node = await (o.bind ?? passThrough)("NODE_PORT", controlPort, () =>
    startMediaNode({
      config: o.config,
      registry,
      logger: o.logger,
      controlPort,
      udpPort: o.udpPort ?? 0,
      // the node shares this process's event loop with the emulator, the functions and (in tests
      // and benches) the driver and its client peers: its admission guard would measure them too,
      // so it is off in-process unless asked for (it is tested in test/node/)
      busyUtilization: o.busyUtilization ?? Number.POSITIVE_INFINITY,
      ...(o.busyLagMs !== undefined ? { busyLagMs: o.busyLagMs } : {}),
    }),
  );
  return { registry, node };
}

/** The local node plus the function handlers wired to it, behind the emulator unless `emulator: false`. */
export function startLocalGateway<R extends Registry = MemoryRegistry>(
  o: LocalGatewayOptions & { registry?: R; emulator?: true },
): Promise<ServedLocalGateway<R>>;
export function startLocalGateway<R extends Registry = MemoryRegistry>(
  o: LocalGatewayOptions & { registry?: R },
): Promise<LocalGateway<R>>;
export async function startLocalGateway<R extends Registry = MemoryRegistry>(
  o: LocalGatewayOptions & { registry?: R },
): Promise<LocalGateway<R>> {
  const { registry, node } = await startLocalNode<R>(o);
  const signaling: SignalingDepsInput = {
    config: o.config,
    registry,
    logger: o.logger,
    nodeSecret: node.secret,
    ...(o.controlTimeoutMs !== undefined ? { controlTimeoutMs: o.controlTimeoutMs } : {}),
  };
  let deps = makeSignalingDeps(signaling);
  // process-wide for handlers called directly (tests); each emulator request runs with its own
  // gateway's deps whatever another gateway in this process set since
  setSignalingDeps(deps);
  const port = o.port ?? 0;
  const emulator =
    o.emulator === false
      ? undefined
      : await (o.bind ?? passThrough)("PORT", port, () =>
          startEmulator({
            handlers: FUNCTION_HANDLERS,
            logger: o.logger,
            port,
            ...(o.host !== undefined ? { host: o.host } : {}),
            ...(o.extra ? { extra: o.extra } : {}),
            scope: (fn) => withSignalingDeps(deps, fn),
          }),
        );
  return {
    registry,
    node,
    emulator,
    signaling,
    setSignaling(input) {
      const next = makeSignalingDeps(input);
      clearSignalingDeps(deps, next);
      deps = next;
    },
    async close(c = {}) {
      await emulator?.close();
      if (c.drainMs !== undefined) await node.drain(c.drainMs);
      await node.close();
      clearSignalingDeps(deps);
      await registry.close();
    },
  };
}
