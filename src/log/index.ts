// Structured logging: JSON lines (pino), level from LOG_LEVEL, child loggers carry sessionId / nodeId.
// Secrets never reach a log line: known secret fields are redacted wherever they appear.
import { type Logger, pino } from "pino";

export type { Logger };

export const REDACTED_PATHS = [
  "token",
  "secret",
  "authorization",
  "sessionToken",
  "*.token",
  "*.secret",
  "*.authorization",
  "*.sessionToken",
  "headers.authorization",
  "*.headers.authorization",
  "headers['x-rtcgw-signature']",
];

export interface LoggerOptions {
  level?: string;
  /** where lines go; stdout by default (tests pass a stream to read them back) */
  destination?: NodeJS.WritableStream;
  base?: Record<string, unknown>;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? process.env.LOG_LEVEL ?? "info";
  return pino(
    {
      level,
      base: { pid: process.pid, ...opts.base },
      redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    opts.destination ?? pino.destination({ sync: false }),
  );
}

let root: Logger | undefined;
/** The process-wide logger (created on first use from LOG_LEVEL). */
export function rootLogger(): Logger {
  root ??= createLogger();
  return root;
}
export function setRootLogger(l: Logger): void {
  root = l;
}

/** A logger whose every line carries the session id. */
export function sessionLogger(
  parent: Logger,
  sessionId: string,
  extra: Record<string, unknown> = {},
): Logger {
  return parent.child({ sessionId, ...extra });
}

/**
 * Exit once the buffered log lines are written, or after `timeoutMs`, whatever happens to
 * stdout. The logger writes asynchronously and flushes what is left synchronously at exit
 * (sonic-boom's flushSync); when nobody reads stdout any more (`rtcgw dev | head -c 300`) that
 * flush retries EPIPE forever and the process never ends. So: flush with a bound, then disarm
 * the exit-time flush (a line that could not be written by then never will be) and exit.
 */
export function exitAfterLogs(logger: Logger, code: number, timeoutMs = 500): void {
  let done = false;
  const exit = () => {
    if (done) return;
    done = true;
    exitNow(logger, code);
  };
  setTimeout(exit, timeoutMs).unref();
  try {
    logger.flush((err) => (err ? exit() : setImmediate(exit)));
  } catch {
    exit();
  }
}

/** Exit at once: buffered log lines not yet written are dropped (never blocks on stdout). */
export function exitNow(logger: Logger, code: number): never {
  const dest = (logger as unknown as Record<symbol, { flushSync?: () => void } | undefined>)[
    pino.symbols.streamSym
  ];
  if (dest && typeof dest.flushSync === "function") dest.flushSync = () => {};
  process.exit(code);
}

/** A log line that cannot throw: shutdown paths must not depend on a line being written. */
export function logSafely(write: () => void): void {
  try {
    write();
  } catch {
    // stdout is gone or the logger is closed: the shutdown goes on without the line
  }
}
