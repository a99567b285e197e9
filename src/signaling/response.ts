// Building structured results (payload 2.0) and turning any error into one. Unknown errors are
// logged with their message only and answered with a fixed sentence: nothing internal (and no
// secret) leaks into a response.
import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import type { Logger } from "../log/index.js";
import { ConflictError, NotFoundError, RegistryUnavailableError } from "../registry/errors.js";
import { corsHeaders } from "./cors.js";
import { HttpError, retryAfter } from "./errors.js";

export type Result = APIGatewayProxyStructuredResultV2 & {
  statusCode: number;
  headers: Record<string, string>;
};

export function result(statusCode: number, headers: Record<string, string> = {}, body?: string): Result {
  return {
    statusCode,
    headers: { ...corsHeaders(), "cache-control": "no-store", ...headers },
    ...(body !== undefined ? { body } : {}),
  };
}

export function json(statusCode: number, value: unknown, headers: Record<string, string> = {}): Result {
  return result(statusCode, { "content-type": "application/json", ...headers }, JSON.stringify(value));
}

export function errorResult(e: unknown, log: Logger): Result {
  if (e instanceof HttpError) {
    if (e.status >= 500) log.warn({ status: e.status, code: e.code }, e.reason);
    else log.info({ status: e.status, code: e.code }, e.reason);
    return json(e.status, { error: e.code, reason: e.reason }, e.headers);
  }
  if (e instanceof RegistryUnavailableError) {
    log.error({ err: e.message }, "registry unavailable");
    return json(
      503,
      { error: "registry-unavailable", reason: "the session registry is unavailable; try again" },
      retryAfter(),
    );
  }
  if (e instanceof NotFoundError) return json(404, { error: "not-found", reason: "no such session" });
  if (e instanceof ConflictError)
    return json(409, { error: "conflict", reason: "the session changed concurrently; try again" });
  log.error({ err: (e as Error)?.message ?? String(e) }, "signaling request failed");
  return json(500, { error: "internal", reason: "the request could not be handled" });
}
