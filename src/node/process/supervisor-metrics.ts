// `rtcgw node`'s one /metrics (RTCGW_METRICS_PORT): every worker's figures, each under its own
// `node` label, beside the supervisor's own (workers by state, restarts, workers that did not
// answer a scrape). Each worker still serves its own /metrics on NODE_PORT + i; this is the one
// target to point Prometheus (or the CloudWatch agent) at, which stays the same however many
// workers there are and whichever of them restarted.
//
// The merge is prom-client's (AggregatorRegistry.aggregate over the workers' JSON,
// `/metrics?format=json`), as a union: the workers' samples differ by their `node` label, so no
// two ever meet, and every family is merged by summing equal label sets (none). prom-client's
// per-metric aggregators ('omit' for the start time, 'average' for loop lag) are for cluster
// workers that share their labels and would drop or blur per-worker figures here.
import { createServer, type Server } from "node:http";
import { AggregatorRegistry, Counter, Gauge, Registry } from "prom-client";
import type { Logger } from "../../log/index.js";

/** a worker's figures arrive within this or are missing from that scrape (and counted) */
const SCRAPE_TIMEOUT_MS = 2_000;

export interface MetricsTarget {
  index: number;
  ready: boolean;
  /** the worker's control URL, once it reported ready */
  controlUrl?: string;
}

export class SupervisorMetrics {
  readonly registry = new Registry();
  readonly restarts: Counter<"worker">;
  readonly scrapeErrors: Counter<"worker">;

  constructor(private readonly targets: () => MetricsTarget[]) {
    const registers = [this.registry];
    new Gauge({
      name: "rtcgw_supervisor_workers",
      help: "the supervisor's worker processes: ready (serving) or starting (forked, or restarting after a crash)",
      labelNames: ["state"],
      registers,
      collect() {
        const all = targets();
        const ready = all.filter((t) => t.ready).length;
        this.set({ state: "ready" }, ready);
        this.set({ state: "starting" }, all.length - ready);
      },
    });
    this.restarts = new Counter({
      name: "rtcgw_supervisor_worker_restarts_total",
      help: "worker processes that exited while serving and were restarted (by worker index)",
      labelNames: ["worker"],
      registers,
    });
    this.scrapeErrors = new Counter({
      name: "rtcgw_supervisor_scrape_errors_total",
      help: "ready workers whose figures were missing from a scrape of the supervisor's /metrics (no answer within 2 s, or an error), by worker index",
      labelNames: ["worker"],
      registers,
    });
  }

  /** every ready worker's figures and the supervisor's own, in Prometheus' text format */
  async text(): Promise<string> {
    const ready = this.targets().filter((t) => t.ready && t.controlUrl);
    const parts = await Promise.all(
      ready.map(async (t) => {
        try {
          const res = await fetch(`${t.controlUrl}/metrics?format=json`, {
            signal: AbortSignal.timeout(SCRAPE_TIMEOUT_MS),
          });
          if (!res.ok) throw new Error(`status ${res.status}`);
          const list = (await res.json()) as object[];
          return list.map((m) => ({ ...m, aggregator: "sum" as const }));
        } catch {
          this.scrapeErrors.inc({ worker: String(t.index) });
          return undefined;
        }
      }),
    );
    const merged: Registry = AggregatorRegistry.aggregate(parts.filter((p) => p !== undefined));
    return Registry.merge([merged, this.registry as Registry]).metrics();
  }
}

/** GET /metrics on `port` (0 = any free one); resolves once listening, rejects on a listen error
 *  (its `code` and `port` say which) */
export function serveSupervisorMetrics(
  metrics: SupervisorMetrics,
  port: number,
  host: string,
  logger: Logger,
): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" || path !== "/metrics") {
      res.writeHead(404, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: "not-found", reason: "only GET /metrics is served here" }));
      return;
    }
    metrics.text().then(
      (text) => {
        res.writeHead(200, { "content-type": metrics.registry.contentType });
        res.end(text);
      },
      (e: Error) => {
        logger.error({ err: e.message }, "could not merge the workers' metrics");
        res.writeHead(500, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: "internal", reason: "could not merge the workers' metrics" }));
      },
    );
  });
  server.keepAliveTimeout = 5_000;
  return new Promise((resolve, reject) => {
    server.once("error", (e: NodeJS.ErrnoException & { port?: number }) => {
      e.port ??= port;
      reject(e);
    });
    server.listen(port, host, () => resolve(server));
  });
}
