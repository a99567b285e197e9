// `rtcgw node`: every core used. One Node event loop is the limit (decrypting, decoding and
// sending all run on it), so the supervisor forks one worker process per core, each a complete
// media node with its own UDP port, control port and registry entry (see docs/node.md for the
// measurement behind this choice).
//
// Start: the supervisor waits until every worker reports "ready". A worker that cannot start
// (its port is taken, the registry is unreachable…) stops them all and fails the start with the
// worker's reason: restarting would only repeat it. Running: a worker that crashes is restarted,
// after 1 s and then twice as long each time it fails again before serving (at most 30 s).
// A worker that dies without draining cannot deregister itself: the supervisor removes its node
// record and its sessions from the registry, so the signaling stops picking a dead port at once
// (rather than when the record's TTL runs out). SIGTERM/SIGINT is forwarded to every worker; the
// supervisor exits 0 once all have drained. A worker still running RTCGW_DRAIN_TIMEOUT + 5 s
// later (frozen: SIGSTOP, a stuck loop) is killed and deregistered, and the supervisor exits 1.
import { type ChildProcess, fork } from "node:child_process";
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import type { Config } from "../../config/index.js";
import { workerUrl } from "../../config/worker-url.js";
import { exitAfterLogs, type Logger } from "../../log/index.js";
import { openRegistry } from "../../registry/open.js";
import type { Registry } from "../../registry/types.js";
import { END_FLUSH_MS, UPLOAD_FLUSH_MS } from "../node.js";
import { workerAllocator } from "./allocator.js";
import { runMediaNodeProcess } from "./node-process.js";
import { resolveNodeSecret } from "./secret.js";
import { type MetricsTarget, SupervisorMetrics, serveSupervisorMetrics } from "./supervisor-metrics.js";
import { isWorkerReport, type WorkerReport } from "./worker-report.js";

export const WORKER_INDEX_ENV = "RTCGW_WORKER_INDEX";
const RESTART_DELAY_MS = 1_000;
const MAX_RESTART_DELAY_MS = 30_000;
/** after RTCGW_DRAIN_TIMEOUT, what a worker's own teardown may still take (closing its calls with
 *  their bounded waits, deregistering) before the supervisor kills it */
const STOP_GRACE_MS = 5_000;

export function workerCount(config: Config): number {
  return config.RTCGW_WORKERS > 0 ? config.RTCGW_WORKERS : availableParallelism();
}

/** the port a worker uses: base + index, or 0 (any free port) when the base is 0 */
export function workerPort(base: number, index: number): number {
  return base === 0 ? 0 : base + index;
}

/** a worker could not start; `report` carries its reason (code and port for a listen error) */
export class WorkerStartError extends Error {
  constructor(
    readonly worker: number,
    readonly report: Extract<WorkerReport, { type: "failed" }>,
  ) {
    super(`media worker ${worker} could not start: ${report.message}`);
    this.name = "WorkerStartError";
  }
}

/** the worker's entry, and the node flags it needs: the TypeScript source runs under tsx's loader */
function workerEntry(): { file: string; execArgv: string[] } {
  const ts = fileURLToPath(new URL("./worker.ts", import.meta.url));
  if (!existsSync(ts)) return { file: fileURLToPath(new URL("./worker.js", import.meta.url)), execArgv: [] };
  // `rtcgw` registers tsx in-process (bin/rtcgw.mjs), so process.execArgv does not carry it to a
  // fork: name the loader by its resolved URL, which works from any working directory
  const hasTsx = process.execArgv.some((a) => a.includes("tsx"));
  return { file: ts, execArgv: hasTsx ? [] : ["--import", import.meta.resolve("tsx")] };
}

interface Worker {
  child: ChildProcess;
  ready: boolean;
  nodeId?: string;
  controlUrl?: string;
  failure?: Extract<WorkerReport, { type: "failed" }>;
}

export async function runMediaNodeSupervisor(config: Config, logger: Logger): Promise<void> {
  const n = workerCount(config);
  // RTCGW_METRICS_PORT: one /metrics for the whole node, listening before any worker starts (a
  // taken port fails the start, nothing registered)
  let targets: () => MetricsTarget[] = () => [];
  const metrics = new SupervisorMetrics(() => targets());
  const metricsServer =
    config.RTCGW_METRICS_PORT === undefined
      ? undefined
      : await serveSupervisorMetrics(metrics, config.RTCGW_METRICS_PORT, config.NODE_BIND_ADDRESS, logger);
  if (metricsServer) {
    const a = metricsServer.address() as { address: string; port: number };
    logger.info({ metricsUrl: `http://${a.address}:${a.port}/metrics` }, "node metrics served");
  }
  if (n === 1) {
    const node = await runMediaNodeProcess(config, logger);
    targets = () => [{ index: 0, ready: true, controlUrl: node.controlUrl }];
    return;
  }
  // workers must share one control secret with the signaling: a generated one is handed down
  const { secret, generated } = resolveNodeSecret(config);
  if (generated)
    logger.warn("RTCGW_NODE_SECRET is unset: generated one for this run (signaling elsewhere cannot sign)");
  const registry = await openRegistry(config.RTCGW_REGISTRY, { logger });
  // the workers' allocator is fixed when they start: chosen once, said once
  const malloc = workerAllocator(config.RTCGW_MALLOC, process.env);
  logger.info({ allocator: malloc.allocator, why: malloc.reason }, "media workers' allocator");
  const workers = new Map<number, Worker>();
  const restartDelay = new Map<number, number>();
  const forgetting = new Set<Promise<void>>();
  const closeRegistry = async () => {
    await Promise.all(forgetting);
    await registry.close();
  };
  let stopping = false;
  let starting = true;
  let startSettled: ((e?: WorkerStartError) => void) | undefined;

  targets = () =>
    [...workers].map(([index, w]) => ({
      index,
      ready: w.ready,
      ...(w.controlUrl ? { controlUrl: w.controlUrl } : {}),
    }));
  const allReady = () => workers.size === n && [...workers.values()].every((w) => w.ready);
  const stopAll = () => {
    for (const w of workers.values()) w.child.kill("SIGTERM");
  };
  const exitedAll = () =>
    new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (workers.size > 0) return;
        clearInterval(check);
        resolve();
      }, 50);
    });

  const start = (i: number) => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...malloc.env,
      [WORKER_INDEX_ENV]: String(i),
      RTCGW_NODE_SECRET: secret,
      NODE_PORT: String(workerPort(config.NODE_PORT, i)),
      MEDIA_UDP_PORT: String(workerPort(config.MEDIA_UDP_PORT, i)),
      ...(config.RTCGW_NODE_URL
        ? { RTCGW_NODE_URL: workerUrl(config.RTCGW_NODE_URL, i).toString().replace(/\/$/, "") }
        : {}),
    };
    const entry = workerEntry();
    const child = fork(entry.file, [], {
      env,
      stdio: "inherit",
      execArgv: [...process.execArgv, ...entry.execArgv],
    });
    const worker: Worker = { child, ready: false };
    workers.set(i, worker);
    worker.child.on("message", (m) => {
      if (!isWorkerReport(m)) return;
      if (m.type === "starting") {
        worker.nodeId = m.nodeId;
        return;
      }
      if (m.type === "failed") {
        worker.failure = m;
        return;
      }
      worker.ready = true;
      worker.controlUrl = m.controlUrl;
      restartDelay.delete(i);
      logger.info(
        { worker: i, nodeId: m.nodeId, pid: child.pid, controlUrl: m.controlUrl, udpPort: m.udpPort },
        "media worker ready",
      );
      if (starting && allReady()) startSettled?.();
    });
    // "close", not "exit": it waits for the IPC channel, so a "failed" report is read first
    worker.child.once("close", (code, signal) => {
      workers.delete(i);
      // a worker that did not drain and exit 0 may have registered (and taken sessions) before it
      // died: nobody else will deregister it
      if (worker.nodeId && code !== 0)
        forgetting.add(forgetWorker(registry, i, worker.nodeId, logger, config.RTCGW_TOMBSTONE_TTL * 1000));
      if (stopping) return;
      if (starting) {
        // the first start failed: a restart would fail the same way
        startSettled?.(
          new WorkerStartError(
            i,
            worker.failure ?? { type: "failed", message: `exited (${signal ?? code})` },
          ),
        );
        return;
      }
      if (worker.ready) metrics.restarts.inc({ worker: String(i) });
      const delay = restartDelay.get(i) ?? RESTART_DELAY_MS;
      restartDelay.set(i, Math.min(delay * 2, MAX_RESTART_DELAY_MS));
      logger.error(
        {
          worker: i,
          nodeId: worker.nodeId,
          pid: child.pid,
          code,
          signal,
          reason: worker.failure?.message,
          restartInMs: delay,
        },
        worker.ready ? "media worker exited; restarting it" : "media worker failed to start again; retrying",
      );
      setTimeout(() => !stopping && start(i), delay).unref();
    });
  };

  // workers still running this long after the SIGTERM will not drain: a frozen one (SIGSTOP, a
  // stuck event loop) never even sees the signal. They are killed, so a supervisor that was told
  // to stop does stop (and its killed workers are deregistered like any that died)
  // With a bucket, a worker's close then waits up to UPLOAD_FLUSH_MS for its last recordings'
  // uploads: killed at drain + 5 s, a scale-in's last calls were lost with the instance's disk
  // (systemd's TimeoutStopSec is drain + 90 s: infra/node/bootstrap.sh). Beside the uploads, it
  // waits up to END_FLUSH_MS for the registry to take the ends of the calls it closed (a drain
  // during a registry outage): killed sooner, those ends were lost
  const stopDeadlineMs =
    config.RTCGW_DRAIN_TIMEOUT * 1000 +
    Math.max(config.RTCGW_RECORDINGS_BUCKET ? UPLOAD_FLUSH_MS : 0, END_FLUSH_MS) +
    STOP_GRACE_MS;
  let killedAtDeadline = 0;
  const stopped = new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal, workers: workers.size }, "stopping workers (each drains)");
      stopAll();
      const deadline = setTimeout(() => {
        for (const [i, w] of workers) {
          killedAtDeadline++;
          logger.error(
            { worker: i, nodeId: w.nodeId, pid: w.child.pid, afterMs: stopDeadlineMs },
            "media worker did not stop by the drain deadline; killed",
          );
          w.child.kill("SIGKILL");
        }
      }, stopDeadlineMs);
      void exitedAll().then(() => {
        clearTimeout(deadline);
        resolve();
      });
    };
    process.once("SIGTERM", () => stop("SIGTERM"));
    process.once("SIGINT", () => stop("SIGINT"));
  });

  const startFailure = await new Promise<WorkerStartError | undefined>((resolve) => {
    startSettled = resolve;
    for (let i = 0; i < n; i++) start(i);
    void stopped.then(() => resolve(undefined));
  });
  starting = false;
  if (startFailure) {
    stopping = true;
    stopAll();
    await exitedAll();
    await closeRegistry();
    metricsServer?.close();
    throw startFailure;
  }
  if (!stopping) logger.info({ workers: n }, "media node supervisor started");

  await stopped;
  await closeRegistry();
  metricsServer?.close();
  if (killedAtDeadline > 0) {
    logger.error({ killed: killedAtDeadline }, "media workers stopped, some killed at the drain deadline");
    exitAfterLogs(logger, 1);
    return;
  }
  logger.info("all media workers stopped");
  exitAfterLogs(logger, 0);
}

/** a crashed worker's node record and sessions, removed (its peers died with it) */
async function forgetWorker(
  registry: Registry,
  worker: number,
  nodeId: string,
  logger: Logger,
  tombstoneTtlMs: number,
): Promise<void> {
  try {
    await registry.removeNode(nodeId);
    const sessions = await registry.listSessionsByNode(nodeId);
    // ended, not just deleted: their clients' GET says "node-lost" and their DELETE is 200
    await Promise.all(
      sessions.map((s) => registry.endSession(s.id, { reason: "node-lost", ttlMs: tombstoneTtlMs })),
    );
    logger.info(
      { worker, nodeId, sessions: sessions.length },
      "deregistered a worker that died (its node record and sessions)",
    );
  } catch (e) {
    // the records expire by themselves (node 15 s, sessions 60 s) if the registry is down now
    logger.warn(
      { worker, nodeId, err: (e as Error).message },
      "could not remove a crashed worker from the registry",
    );
  }
}
