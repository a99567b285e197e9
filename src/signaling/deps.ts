// What the handlers need — config, registry, logger, control client — resolved once per cold
// start from the environment (a function instance reuses them across invocations), or injected
// by the dev CLI and tests so the emulated functions share one in-process memory registry.
import { AsyncLocalStorage } from "node:async_hooks";
import { withRunTimeSecrets } from "../aws/run-time-secrets.js";
import { type Config, loadConfig } from "../config/index.js";
import { createLogger, type Logger } from "../log/index.js";
import { openRegistry } from "../registry/index.js";
import type { Registry } from "../registry/types.js";
import { ControlClient } from "./control-client.js";

/** how long a control request may take before the client gets 504 */
export const DEFAULT_CONTROL_TIMEOUT_MS = 5_000;
/** session records live this long unless the owning node refreshes them */
export const SESSION_RECORD_TTL_MS = 60_000;
/** a node that did not answer is not picked for this long (it may only have been slow) */
export const SUSPECT_TTL_MS = 10_000;
/**
 * What one offer may spend on nodes that do not answer before the client hears 503: a new node is
 * tried only while a whole control timeout still fits in it. Well inside API Gateway's 30 s.
 */
export const OFFER_BUDGET_MS = 15_000;
/** nodes one offer may try (the first and two others) */
export const MAX_NODES_PER_OFFER = 3;

export interface SignalingDeps {
  config: Config;
  registry: Registry;
  logger: Logger;
  control: ControlClient;
  now: () => number;
  /** the control API's per-request timeout (ms) */
  controlTimeoutMs: number;
}

export interface SignalingDepsInput {
  config: Config;
  registry: Registry;
  logger: Logger;
  /** the control API's shared HMAC secret */
  nodeSecret: string;
  controlTimeoutMs?: number;
  now?: () => number;
}

export function makeSignalingDeps(i: SignalingDepsInput): SignalingDeps {
  return {
    config: i.config,
    registry: i.registry,
    logger: i.logger,
    control: new ControlClient({
      secret: i.nodeSecret,
      timeoutMs: i.controlTimeoutMs ?? DEFAULT_CONTROL_TIMEOUT_MS,
    }),
    now: i.now ?? Date.now,
    controlTimeoutMs: i.controlTimeoutMs ?? DEFAULT_CONTROL_TIMEOUT_MS,
  };
}

let current: Promise<SignalingDeps> | undefined;
let currentDeps: SignalingDeps | undefined;
/** the deps of the gateway whose emulator is serving this request (withSignalingDeps) */
const scoped = new AsyncLocalStorage<Promise<SignalingDeps>>();

/** In-process use (dev CLI, tests): every handler in this process uses these, unless a request
 *  runs inside withSignalingDeps. */
export function setSignalingDeps(deps: SignalingDeps | undefined): void {
  current = deps ? Promise.resolve(deps) : undefined;
  currentDeps = deps;
}

/** Undo setSignalingDeps(deps), or put `next` in their place — only if no later call replaced
 *  them (another gateway's). */
export function clearSignalingDeps(deps: SignalingDeps, next?: SignalingDeps): void {
  if (currentDeps === deps) setSignalingDeps(next);
}

/**
 * Run `fn` (one request's handling) with these deps, whatever the process-wide ones are: two
 * local gateways in one process (tests, an embedding app) each answer with their own registry and
 * node. With one process-wide slot, the second gateway's deps answered the first's requests, and
 * closing it left the first answering 500.
 */
export function withSignalingDeps<T>(deps: SignalingDeps, fn: () => T): T {
  return scoped.run(Promise.resolve(deps), fn);
}

export function getSignalingDeps(): Promise<SignalingDeps> {
  const mine = scoped.getStore();
  if (mine) return mine;
  current ??= fromEnvironment().catch((e) => {
    current = undefined; // the next invocation retries (e.g. the registry was briefly down)
    throw e;
  });
  return current;
}

/** A deployed function: everything from the environment, validated (ConfigError says what to fix). */
async function fromEnvironment(): Promise<SignalingDeps> {
  // the secrets come from Secrets Manager (their *_ARN settings) once per function instance
  const config = await withRunTimeSecrets(loadConfig(process.env));
  const logger = createLogger({ level: config.LOG_LEVEL, base: { component: "signaling" } });
  if (!config.RTCGW_NODE_SECRET)
    throw new Error(
      "RTCGW_NODE_SECRET or RTCGW_NODE_SECRET_ARN must be set: the signaling signs its control requests to media nodes with it",
    );
  if (config.RTCGW_REGISTRY.kind === "memory")
    throw new Error(
      "RTCGW_REGISTRY=memory cannot be shared between function instances and media nodes: use redis://… or dynamodb:TABLE",
    );
  const registry = await openRegistry(config.RTCGW_REGISTRY, { logger });
  return makeSignalingDeps({ config, registry, logger, nodeSecret: config.RTCGW_NODE_SECRET });
}
