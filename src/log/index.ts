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
