// Where the DynamoDB store's credentials come from. The EC2 instance metadata service does not
// exist on this machine, so a loopback server speaks its IMDSv2 protocol (token PUT, then GETs
// carrying the token); the signed DynamoDB request is captured by a second loopback server.
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { DynamoRegistry } from "../../src/registry/dynamodb.js";
import { defaultCredentialSource, imdsCredentialSource } from "../../src/registry/dynamodb-credentials.js";
import { RegistryError, RegistryUnavailableError } from "../../src/registry/errors.js";
import { freePort } from "../support/redis-server.js";

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

async function listen(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const s = createServer(handler);
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

/** IMDSv2: GETs without a valid token are 401, as on EC2. */
async function imds(opts: { role?: string; expiration: () => string; key?: () => string }) {
  const hits = { token: 0, creds: 0 };
  const url = await listen((req, res) => {
    if (req.method === "PUT" && req.url === "/latest/api/token") {
      hits.token++;
      expect(req.headers["x-aws-ec2-metadata-token-ttl-seconds"]).toBeDefined();
      return res.end("TOKEN-1");
    }
    if (req.headers["x-aws-ec2-metadata-token"] !== "TOKEN-1") return res.writeHead(401).end();
    const base = "/latest/meta-data/iam/security-credentials/";
    if (req.url === base) return opts.role ? res.end(`${opts.role}\n`) : res.writeHead(404).end();
    if (opts.role && req.url === `${base}${opts.role}`) {
      hits.creds++;
      return res.end(
        JSON.stringify({
          Code: "Success",
          AccessKeyId: opts.key?.() ?? "ASIAIMDSKEY",
          SecretAccessKey: "imds-secret",
          Token: "imds-session-token",
          Expiration: opts.expiration(),
        }),
      );
    }
    res.writeHead(404).end();
  });
  return { url, hits };
}

describe("dynamodb credentials", () => {
  it("IMDSv2: token first, role's credentials, cached until 5 minutes before Expiration", async () => {
    let now = Date.parse("2026-01-01T00:00:00Z");
    let n = 0;
    const server = await imds({
      role: "media-node",
      expiration: () => new Date(now + 60 * 60_000).toISOString(),
      key: () => `ASIAKEY${++n}`,
    });
    const source = imdsCredentialSource({ endpoint: server.url, now: () => now });
    const [a, b] = await Promise.all([source(), source()]);
    expect(a).toEqual({
      accessKeyId: "ASIAKEY1",
      secretAccessKey: "imds-secret",
      sessionToken: "imds-session-token",
    });
    expect(b).toBe(a); // concurrent callers share one fetch
    now += 54 * 60_000; // 6 minutes left: still cached
    expect((await source()).accessKeyId).toBe("ASIAKEY1");
    expect(server.hits).toEqual({ token: 1, creds: 1 });
    now += 2 * 60_000; // 4 minutes left: refreshed
    expect((await source()).accessKeyId).toBe("ASIAKEY2");
    expect(server.hits).toEqual({ token: 2, creds: 2 });
  });

  it("no role, or nothing listening: a clear 'no AWS credentials' error, quickly", async () => {
    const norole = await imds({ expiration: () => new Date().toISOString() });
    await expect(imdsCredentialSource({ endpoint: norole.url })()).rejects.toThrow(
      /no AWS credentials: .*no IAM role/,
    );
    const t0 = performance.now();
    const nobody = `http://127.0.0.1:${await freePort()}`;
    await expect(imdsCredentialSource({ endpoint: nobody, timeoutMs: 300 })()).rejects.toThrow(
      /no AWS credentials/,
    );
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it("the store signs with IMDS credentials (SigV4 Authorization and session token)", async () => {
    const server = await imds({
      role: "r",
      expiration: () => new Date(Date.now() + 3_600_000).toISOString(),
    });
    let seen: IncomingHttpHeaders | undefined;
    const dynamo = await listen((req, res) => {
      seen = req.headers;
      req.resume();
      req.on("end", () => res.writeHead(200, { "content-type": "application/x-amz-json-1.0" }).end("{}"));
    });
    const r = new DynamoRegistry({
      table: "signed",
      endpoint: dynamo,
      credentials: imdsCredentialSource({ endpoint: server.url }),
    });
    expect(await r.getSession("s1")).toBeUndefined();
    expect(seen!["x-amz-target"]).toBe("DynamoDB_20120810.GetItem");
    expect(seen!["content-type"]).toBe("application/x-amz-json-1.0");
    expect(seen!.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=ASIAIMDSKEY\/\d{8}\/us-east-1\/dynamodb\/aws4_request, SignedHeaders=.*x-amz-target.*, Signature=[0-9a-f]{64}$/,
    );
    expect(seen!["x-amz-security-token"]).toBe("imds-session-token");
    await r.close();
  });

  it("failing credentials make calls RegistryUnavailableError that says so", async () => {
    const nobody = `http://127.0.0.1:${await freePort()}`;
    const r = new DynamoRegistry({
      table: "nocreds",
      endpoint: "http://127.0.0.1:9",
      credentials: imdsCredentialSource({ endpoint: nobody, timeoutMs: 200 }),
    });
    const err = await r.ping().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryUnavailableError);
    expect((err as Error).message).toMatch(/no AWS credentials/);
  });

  describe("from the environment", () => {
    const saved = { ...process.env };
    afterEach(() => {
      for (const k of [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
      ])
        if (saved[k] === undefined) delete process.env[k];
        else process.env[k] = saved[k];
    });

    it("AWS_ACCESS_KEY_ID/SECRET/SESSION_TOKEN win; an http endpoint without them gets dummy keys", async () => {
      process.env.AWS_ACCESS_KEY_ID = "AKIAENV";
      process.env.AWS_SECRET_ACCESS_KEY = "env-secret";
      process.env.AWS_SESSION_TOKEN = "env-token";
      expect(await defaultCredentialSource(new URL("https://dynamodb.eu-west-1.amazonaws.com"))()).toEqual({
        accessKeyId: "AKIAENV",
        secretAccessKey: "env-secret",
        sessionToken: "env-token",
      });
      delete process.env.AWS_ACCESS_KEY_ID;
      expect((await defaultCredentialSource(new URL("http://127.0.0.1:4567"))()).accessKeyId).toBe("local");
    });

    it("no endpoint and no region is a clear RegistryError at construction", () => {
      delete process.env.AWS_REGION;
      delete process.env.AWS_DEFAULT_REGION;
      expect(() => new DynamoRegistry({ table: "t1" })).toThrow(RegistryError);
      expect(() => new DynamoRegistry({ table: "t1" })).toThrow(/AWS_REGION/);
      process.env.AWS_DEFAULT_REGION = "eu-west-1";
      expect(new DynamoRegistry({ table: "t1" }).http.endpoint).toBe(
        "https://dynamodb.eu-west-1.amazonaws.com/",
      );
    });
  });
});
