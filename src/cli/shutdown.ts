// Graceful shutdown on SIGINT/SIGTERM: run the steps once, in order; a second signal (or a stuck
// step past the deadline) exits at once so Ctrl-C twice always works.
import type { Logger } from "../log/index.js";

export function onShutdown(log: Logger, steps: () => Promise<void>, deadlineMs = 15_000): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, "second signal: exiting now");
      process.exit(130);
    }
    stopping = true;
    log.info({ signal }, "shutting down");
    const timer = setTimeout(() => {
      log.error("shutdown took too long: exiting");
      process.exit(1);
    }, deadlineMs);
    timer.unref();
    steps().then(
      () => process.exit(0),
      (e) => {
        log.error({ err: (e as Error).message }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}
