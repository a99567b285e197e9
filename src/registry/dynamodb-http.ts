// DynamoDB over plain HTTP: the JSON protocol (POST /, X-Amz-Target: DynamoDB_20120810.<Op>,
// application/x-amz-json-1.0) signed with SigV4 by aws4 (node:crypto), sent with node:http(s) on a
// keep-alive pool (../http/client.ts) — instead of the AWS SDK, whose import alone cost a
// function's cold start ~130 ms (docs/registry.md), and instead of fetch, whose first use costs
// ~40 ms more (docs/signaling.md, "Cold start").
// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.LowLevelAPI.html
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv.html
//
// Each attempt is bounded by `timeoutMs` (connect, response and body: one deadline), at most
// `maxAttempts` attempts, all within an overall deadline. Throttling, 5xx and network failures are
// retried; any other error response is a DynamoServiceError carrying the service's error type.
import aws4 from "aws4";
import { type KeepAliveAgents, keepAliveAgents, request } from "../http/client.js";
import type { CredentialSource } from "./dynamodb-credentials.js";

/** An error response from DynamoDB: `type` is the short name of its `__type`. */
export class DynamoServiceError extends Error {
  override name = "DynamoServiceError";
  constructor(
    readonly type: string,
    readonly status: number,
    message: string,
  ) {
    super(`${type}: ${message}`);
  }
  /** worth retrying: throttling or the service's own failure */
  get transient(): boolean {
    return this.status >= 500 || TRANSIENT.has(this.type);
  }
}

// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html
const TRANSIENT = new Set([
  "ProvisionedThroughputExceededException",
  "ThrottlingException",
  "RequestLimitExceeded",
  "InternalServerError",
  "ServiceUnavailable",
  "LimitExceededException",
]);

export interface DynamoHttpOptions {
  /** e.g. https://dynamodb.eu-west-1.amazonaws.com or http://127.0.0.1:4567 */
  endpoint: string;
  region: string;
  credentials: CredentialSource;
  timeoutMs: number;
  maxAttempts: number;
  /** overall bound on one call, retries included */
  deadlineMs: number;
}

export class DynamoHttp {
  readonly endpoint: string;
  private readonly url: URL;
  // one connection pool per store: TLS set-up is paid once per instance, not per call
  private readonly agents: KeepAliveAgents = keepAliveAgents();

  constructor(private readonly o: DynamoHttpOptions) {
    this.endpoint = o.endpoint.endsWith("/") ? o.endpoint : `${o.endpoint}/`;
    this.url = new URL(this.endpoint);
  }

  /** One DynamoDB operation, e.g. call("GetItem", { TableName, Key }) → the parsed JSON answer. */
  // biome-ignore lint/suspicious/noExplicitAny: DynamoDB's JSON answers are read field by field by the store
  async call<O = any>(op: string, input: unknown): Promise<O> {
    const body = JSON.stringify(input);
    const deadline = Date.now() + this.o.deadlineMs;
    const creds = await this.o.credentials();
    let last: unknown;
    for (let attempt = 1; ; attempt++) {
      const left = deadline - Date.now();
      // signed per attempt: X-Amz-Date must be fresh (aws4 caches the derived signing key)
      const signed = aws4.sign(
        {
          host: this.url.host,
          path: this.url.pathname,
          method: "POST",
          service: "dynamodb",
          region: this.o.region,
          headers: {
            "content-type": "application/x-amz-json-1.0",
            "x-amz-target": `DynamoDB_20120810.${op}`,
          },
          body,
        },
        creds,
      );
      try {
        const res = await request(this.url, {
          method: "POST",
          headers: signed.headers ?? {},
          body,
          timeoutMs: Math.max(1, Math.min(this.o.timeoutMs, left)),
          agents: this.agents,
        });
        if (res.status >= 200 && res.status < 300) return (res.body ? JSON.parse(res.body) : {}) as O;
        throw serviceError(res.status, res.body);
      } catch (e) {
        if (e instanceof DynamoServiceError && !e.transient) throw e;
        last = e;
      }
      const backoff = Math.min(25 * 2 ** (attempt - 1), 200) * (0.5 + Math.random() / 2);
      if (attempt >= this.o.maxAttempts || Date.now() + backoff >= deadline) throw last;
      await new Promise((r) => setTimeout(r, backoff));
    }
  }

  /** Close the pooled connections (idle ones would close by themselves a few seconds later). */
  close(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }
}

function serviceError(status: number, text: string): DynamoServiceError {
  let type = `HTTP${status}`;
  let message = text.slice(0, 300);
  try {
    const j = JSON.parse(text) as { __type?: string; message?: string; Message?: string };
    // "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException" → the part after '#'
    if (j.__type) type = j.__type.slice(j.__type.lastIndexOf("#") + 1);
    message = j.message ?? j.Message ?? message;
  } catch {
    // not JSON (a proxy's error page): keep the status and the text
  }
  return new DynamoServiceError(type, status, message);
}
