// Graceful shutdown on SIGINT/SIGTERM: run the steps once, in order; a second signal (or a stuck
// step past the deadline) exits at once so Ctrl-C twice always works.
//
// Nothing here depends on a log line being written: the deadline is armed before anything is
// logged, every line is written through logSafely, and the exit drops lines stdout cannot take
// (exitAfterLogs / exitNow) — a gateway whose stdout reader went away (`npm start | head`) stops
// like any other.
import { exitAfterLogs, exitNow, type Logger, logSafely } from "../log/index.js";

export function onShutdown(log: Logger, steps: () => Promise<void>, deadlineMs = 15_000): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      logSafely(() => log.warn({ signal }, "second signal: exiting now"));
      exitNow(log, 130);
    }
    stopping = true;
    const timer = setTimeout(() => {
      logSafely(() => log.error("shutdown took too long: exiting"));
      exitNow(log, 1);
    }, deadlineMs);
    timer.unref();
    logSafely(() => log.info({ signal }, "shutting down"));
    let run: Promise<void>;
    try {
      run = steps();
    } catch (e) {
      run = Promise.reject(e);
    }
    run.then(
      () => exitAfterLogs(log, 0),
      (e) => {
        logSafely(() => log.error({ err: (e as Error).message }, "shutdown failed"));
        exitAfterLogs(log, 1);
      },
    );
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}
