// `rtcgw agent`: what an Auto Scaling group needs from each media instance, in a process of its own
// beside `rtcgw node` (so a node restart never loses a lifecycle action in progress):
//  - every RTCGW_AGENT_METRICS_INTERVAL s, this instance's sessions and accepting workers (read
//    from the registry: the workers whose control URL is on this instance's address) go to
//    CloudWatch, dimension AutoScalingGroupName — the target-tracking policy scales on
//    SessionsPerInstance, the "no node accepting" alarm reads AcceptingWorkers;
//  - the instance's target lifecycle state is polled from IMDS; when it turns "Terminated" (scale-in
//    or an instance refresh / rolling update), the agent stops the node — which stops taking
//    offers, drains its calls up to RTCGW_DRAIN_TIMEOUT and deregisters — keeping the lifecycle
//    hook alive with heartbeats meanwhile, then completes the lifecycle action (CONTINUE);
//  - when none of the instance's workers has been live for RTCGW_AGENT_UNHEALTHY_AFTER s (300)
//    while the instance is InService and not draining, the agent marks the instance unhealthy
//    (SetInstanceHealth, respecting the group's grace period) and the group replaces it: the
//    group's health checks are EC2's, and a node that keeps failing left an InService instance
//    taking no call. Live = listed in the registry (what makes the signaling send it calls); when
//    the agent cannot read the registry, a worker control port answering /metrics (a registry
//    outage must not make every instance replace itself). The decision: node-watch.ts.
import { exec } from "node:child_process";
import { availableParallelism } from "node:os";
import {
  completeLifecycleAction,
  recordLifecycleHeartbeat,
  setInstanceUnhealthy,
} from "../aws/autoscaling.js";
import { putMetricData } from "../aws/cloudwatch.js";
import { imdsGet } from "../aws/imds.js";
import type { Config } from "../config/index.js";
import { workerUrl } from "../config/worker-url.js";
import type { Logger } from "../log/index.js";
import { openRegistry } from "../registry/open.js";
import type { Registry } from "../registry/types.js";
import type { AgentConfig } from "./agent-config.js";
import { DeadNodeWatch } from "./node-watch.js";

const HOOK_HEARTBEAT_MS = 60_000;
const METRICS_TIMEOUT_MS = 2_000;

export interface InstanceLoad {
  sessions: number;
  workers: number;
  accepting: number;
}

/** this instance's workers: node records whose control URL is on the host RTCGW_NODE_URL names */
export async function instanceLoad(registry: Registry, host: string): Promise<InstanceLoad> {
  const mine = (await registry.listNodes()).filter((n) => {
    try {
      return new URL(n.controlUrl).hostname === host;
    } catch {
      return false;
    }
  });
  return {
    sessions: mine.reduce((s, n) => s + n.load, 0),
    workers: mine.length,
    accepting: mine.filter((n) => !n.draining && n.load < n.capacity).length,
  };
}

export interface Agent {
  /** resolves once the lifecycle action was completed (or the agent was stopped) */
  done: Promise<void>;
  stop(): Promise<void>;
}

/** any of the instance's worker control ports (NODE_PORT + i, as the bootstrap's health wait
 *  reads them) answers /metrics */
async function aWorkerAnswers(nodeUrl: URL, workers: number): Promise<boolean> {
  const answers = await Promise.all(
    Array.from({ length: workers }, async (_, i) => {
      const u = workerUrl(nodeUrl, i);
      u.pathname = "/metrics";
      try {
        const res = await fetch(u, { signal: AbortSignal.timeout(METRICS_TIMEOUT_MS) });
        await res.body?.cancel();
        return res.status === 200;
      } catch {
        return false;
      }
    }),
  );
  return answers.some(Boolean);
}

export interface AgentOptions {
  /** the registry to read (tests); default: RTCGW_REGISTRY, opened and closed by the agent */
  registry?: Registry;
}

export async function runAgent(
  config: Config,
  agent: AgentConfig,
  log: Logger,
  opts: AgentOptions = {},
): Promise<Agent> {
  if (!config.RTCGW_NODE_URL)
    throw new Error("RTCGW_NODE_URL must be set: the agent finds this instance's workers by it");
  const nodeUrl = new URL(config.RTCGW_NODE_URL);
  const host = nodeUrl.hostname;
  const instanceId = await imdsGet("/latest/meta-data/instance-id");
  const registry = opts.registry ?? (await openRegistry(config.RTCGW_REGISTRY, { logger: log }));
  const dims = { AutoScalingGroupName: agent.RTCGW_ASG_NAME };
  let stopped = false;
  let terminating = false;

  const publish = async () => {
    try {
      const l = await instanceLoad(registry, host);
      await putMetricData(agent.RTCGW_METRICS_NAMESPACE, [
        { name: "SessionsPerInstance", value: l.sessions, dimensions: dims },
        { name: "AcceptingWorkers", value: terminating ? 0 : l.accepting, dimensions: dims },
      ]);
      log.debug({ ...l, instanceId }, "metrics published");
    } catch (e) {
      log.warn({ err: (e as Error).message }, "could not publish metrics");
    }
  };
  const metricsTimer = setInterval(publish, agent.RTCGW_AGENT_METRICS_INTERVAL * 1000);
  void publish();

  let resolveDone!: () => void;
  const done = new Promise<void>((r) => {
    resolveDone = r;
  });
  const action = { groupName: agent.RTCGW_ASG_NAME, hookName: agent.RTCGW_LIFECYCLE_HOOK, instanceId };

  const terminate = async () => {
    terminating = true;
    clearInterval(pollTimer);
    log.info(
      { instanceId, command: agent.RTCGW_AGENT_STOP_COMMAND },
      "instance terminating: draining the node",
    );
    const beat = setInterval(
      () =>
        void recordLifecycleHeartbeat(action).catch((e) =>
          log.warn({ err: (e as Error).message }, "lifecycle heartbeat failed"),
        ),
      HOOK_HEARTBEAT_MS,
    );
    const code = await new Promise<number>((resolve) =>
      exec(agent.RTCGW_AGENT_STOP_COMMAND, (err) =>
        resolve(err ? ((err as { code?: number }).code ?? 1) : 0),
      ),
    );
    clearInterval(beat);
    if (code !== 0) log.error({ code }, "the stop command failed; completing the lifecycle action anyway");
    await publish();
    for (let attempt = 1; ; attempt++) {
      try {
        await completeLifecycleAction(action, "CONTINUE");
        log.info({ instanceId }, "lifecycle action completed");
        break;
      } catch (e) {
        log.warn({ err: (e as Error).message, attempt }, "could not complete the lifecycle action");
        // the hook's own timeout completes it anyway (default result CONTINUE)
        if (attempt >= 5) break;
        await new Promise((r) => setTimeout(r, 1000 * attempt));
      }
    }
    resolveDone();
  };

  const poll = async () => {
    if (terminating || stopped) return;
    try {
      const state = await imdsGet("/latest/meta-data/autoscaling/target-lifecycle-state");
      if (state === "Terminated" && !terminating) await terminate();
    } catch (e) {
      log.debug({ err: (e as Error).message }, "no lifecycle state from IMDS");
    }
  };
  const pollTimer = setInterval(() => void poll(), agent.RTCGW_AGENT_POLL_INTERVAL * 1000);

  // ---- a dead node: the instance marked unhealthy
  const graceMs = agent.RTCGW_AGENT_UNHEALTHY_AFTER * 1000;
  const watch = new DeadNodeWatch(graceMs, Date.now());
  const workers = config.RTCGW_WORKERS || availableParallelism();
  let checking = false;
  const checkNode = async () => {
    if (checking || stopped) return;
    checking = true;
    try {
      let live: boolean | undefined;
      try {
        live = (await instanceLoad(registry, host)).workers > 0;
      } catch (e) {
        log.debug({ err: (e as Error).message }, "registry unreadable: asking the workers' control ports");
        live = await aWorkerAnswers(nodeUrl, workers);
      }
      const lifecycle = await imdsGet("/latest/meta-data/autoscaling/target-lifecycle-state").catch(
        () => undefined,
      );
      if (!watch.observe({ now: Date.now(), live, lifecycle, terminating })) return;
      log.error(
        { instanceId, unhealthyAfterS: agent.RTCGW_AGENT_UNHEALTHY_AFTER, event: "instance_unhealthy" },
        "no live node worker on this instance: marking it unhealthy (the group replaces it)",
      );
      try {
        await setInstanceUnhealthy(instanceId);
        watch.reported();
      } catch (e) {
        log.warn({ err: (e as Error).message }, "could not mark the instance unhealthy; trying again");
      }
    } finally {
      checking = false;
    }
  };
  // a few looks per grace (at most every 30 s): the instance goes within ~1.2 graces
  const watchTimer =
    graceMs > 0
      ? setInterval(() => void checkNode(), Math.min(30_000, Math.max(100, graceMs / 5)))
      : undefined;

  log.info({ instanceId, host, group: agent.RTCGW_ASG_NAME }, "node agent started");
  return {
    done,
    async stop() {
      stopped = true;
      clearInterval(pollTimer);
      clearInterval(metricsTimer);
      clearInterval(watchTimer);
      if (!opts.registry) await registry.close();
      resolveDone();
    },
  };
}
