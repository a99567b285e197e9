// DynamoDB over plain HTTP: the JSON protocol (POST /, X-Amz-Target: DynamoDB_20120810.<Op>,
// application/x-amz-json-1.0) signed with SigV4 by aws4fetch, instead of the AWS SDK, whose
// import alone cost a function's cold start ~130 ms (docs/registry.md).
// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.LowLevelAPI.html
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv.html
//
// Each attempt is bounded by `timeoutMs` (connect, response and body: one AbortSignal), at most
// `maxAttempts` attempts, all within an overall deadline. Throttling, 5xx and network failures are
// retried; any other error response is a DynamoServiceError carrying the service's error type.
import { AwsV4Signer } from "aws4fetch";
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
  // SigV4 signing keys depend only on (secret, date, region, service): aws4fetch caches them here.
  private readonly keyCache = new Map<string, ArrayBuffer>();

  constructor(private readonly o: DynamoHttpOptions) {
    this.endpoint = o.endpoint.endsWith("/") ? o.endpoint : `${o.endpoint}/`;
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
      const signer = new AwsV4Signer({
        method: "POST",
        url: this.endpoint,
        headers: {
          "content-type": "application/x-amz-json-1.0",
          "x-amz-target": `DynamoDB_20120810.${op}`,
        },
        body,
        ...creds,
        service: "dynamodb",
        region: this.o.region,
        cache: this.keyCache,
      });
      const signed = await signer.sign();
      try {
        const res = await fetch(signed.url, {
          method: "POST",
          headers: signed.headers,
          body,
          signal: AbortSignal.timeout(Math.max(1, Math.min(this.o.timeoutMs, left))),
        });
        const text = await res.text();
        if (res.ok) return (text ? JSON.parse(text) : {}) as O;
        throw serviceError(res.status, text);
      } catch (e) {
        if (e instanceof DynamoServiceError && !e.transient) throw e;
        last = e;
      }
      const backoff = Math.min(25 * 2 ** (attempt - 1), 200) * (0.5 + Math.random() / 2);
      if (attempt >= this.o.maxAttempts || Date.now() + backoff >= deadline) throw last;
      await new Promise((r) => setTimeout(r, backoff));
    }
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
