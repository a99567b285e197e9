// A node that fails its start checks (src/media/preflight.ts) is a setting or an install to fix:
// say which, in the words of the configuration errors, and exit without a stack trace.
export function preflightProblem(e: unknown): { message: string; exitCode: number } | undefined {
  const err = e as { code?: unknown; message?: unknown; report?: { code?: string; message?: string } };
  // a worker's failure arrives as its report (WorkerStartError), a single node's as the error itself
  const code = err?.report?.code ?? err?.code;
  const message = err?.report?.message ?? err?.message;
  if (typeof message !== "string") return undefined;
  // configuration: exit 2 like every invalid setting; an incomplete install: exit 1
  if (code === "recordings-dir")
    return { message: `rtcgw: invalid configuration:\n  - RECORDINGS_DIR: ${message}\n`, exitCode: 2 };
  if (code === "media-udp-port")
    return { message: `rtcgw: invalid configuration:\n  - MEDIA_UDP_PORT: ${message}\n`, exitCode: 2 };
  if (code === "media-runtime") return { message: `rtcgw: cannot start: ${message}\n`, exitCode: 1 };
  return undefined;
}

/** exit with the start check's message; any other error is rethrown */
export function exitOnPreflight(e: unknown, logger: { flush?: () => void }): never {
  const preflight = preflightProblem(e);
  if (!preflight) throw e;
  logger.flush?.();
  process.stderr.write(preflight.message);
  process.exit(preflight.exitCode);
}
