// One SigV4-signed call to an AWS API over node:http(s) — the JSON protocol (Secrets Manager) or
// the Query protocol (CloudWatch, Auto Scaling) — signed by aws4, as the DynamoDB store does, so
// the node and the functions need no AWS SDK for three small calls (an SDK client costs a
// function ~130 ms of cold start: docs/registry.md). Retries throttling, 5xx and network failures.
import aws4 from "aws4";
import { type KeepAliveAgents, keepAliveAgents, request } from "../http/client.js";
import { type CredentialSource, defaultCredentialSource } from "../registry/dynamodb-credentials.js";
import { type AwsService, awsEndpoint, awsRegion } from "./endpoint.js";

export class AwsCallError extends Error {
  override name = "AwsCallError";
  constructor(
    readonly service: string,
    readonly action: string,
    readonly status: number,
    readonly body: string,
  ) {
    super(`${service} ${action}: HTTP ${status}: ${body.slice(0, 300)}`);
  }
}

export interface AwsClientOptions {
  region?: string;
  credentials?: CredentialSource;
  timeoutMs?: number;
  maxAttempts?: number;
}

let sharedAgents: KeepAliveAgents | undefined;

export class AwsClient {
  readonly region: string;
  readonly endpoint: URL;
  private readonly credentials: CredentialSource;

  constructor(
    readonly service: AwsService,
    private readonly o: AwsClientOptions = {},
  ) {
    this.region = o.region ?? awsRegion(service);
    this.endpoint = new URL(awsEndpoint(service, this.region));
    // an overridden endpoint still gets real credentials (env, then IMDS): the rehearsal checks them
    this.credentials = o.credentials ?? defaultCredentialSource(undefined);
  }

  /** the JSON protocol: POST / with X-Amz-Target */
  async json<O>(target: string, input: unknown, contentType = "application/x-amz-json-1.1"): Promise<O> {
    const body = JSON.stringify(input);
    const text = await this.send(target, body, { "content-type": contentType, "x-amz-target": target });
    return (text ? JSON.parse(text) : {}) as O;
  }

  /** the Query protocol: a form-encoded POST of Action, Version and the parameters */
  async query(action: string, version: string, params: Record<string, string>): Promise<string> {
    const body = new URLSearchParams({ Action: action, Version: version, ...params }).toString();
    return this.send(action, body, { "content-type": "application/x-www-form-urlencoded; charset=utf-8" });
  }

  private async send(action: string, body: string, headers: Record<string, string>): Promise<string> {
    const creds = await this.credentials();
    const attempts = this.o.maxAttempts ?? 4;
    let last: unknown;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const signed = aws4.sign(
        {
          host: this.endpoint.host,
          path: this.endpoint.pathname,
          method: "POST",
          service: this.service,
          region: this.region,
          headers,
          body,
        },
        creds,
      );
      try {
        sharedAgents ??= keepAliveAgents();
        const res = await request(this.endpoint, {
          method: "POST",
          headers: signed.headers ?? {},
          body,
          timeoutMs: this.o.timeoutMs ?? 3_000,
          agents: sharedAgents,
        });
        if (res.status >= 200 && res.status < 300) return res.body;
        const err = new AwsCallError(this.service, action, res.status, res.body);
        if (res.status < 500 && !/Throttl/i.test(res.body)) throw err;
        last = err;
      } catch (e) {
        if (e instanceof AwsCallError && e.status < 500 && !/Throttl/i.test(e.body)) throw e;
        last = e;
      }
      if (attempt < attempts) await new Promise((r) => setTimeout(r, 100 * 2 ** (attempt - 1)));
    }
    throw last;
  }
}
