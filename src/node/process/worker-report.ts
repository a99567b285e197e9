// What a media worker tells its supervisor over the IPC channel: it is serving, or it could not
// start (and why). The supervisor restarts a worker that crashes while serving, but a worker that
// cannot start at all is a configuration or environment problem, not something a restart fixes.
export type WorkerReport =
  /** sent before the node registers, so a worker that dies at any point can be deregistered */
  | { type: "starting"; nodeId: string }
  | { type: "ready"; nodeId: string; controlUrl: string; udpPort: number }
  | { type: "failed"; message: string; code?: string; port?: number };

export function isWorkerReport(m: unknown): m is WorkerReport {
  const r = m as WorkerReport | undefined;
  return typeof r === "object" && r !== null && ["starting", "ready", "failed"].includes(r.type);
}

/** the report for an error thrown while starting (listen errors carry code and port) */
export function failedReport(e: unknown): WorkerReport {
  const err = e as NodeJS.ErrnoException & { port?: number };
  return {
    type: "failed",
    message: err?.message ?? String(e),
    ...(typeof err?.code === "string" ? { code: err.code } : {}),
    ...(typeof err?.port === "number" ? { port: err.port } : {}),
  };
}
