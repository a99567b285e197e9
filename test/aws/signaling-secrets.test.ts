// `rtcgw signaling` reads its secrets at start from Secrets Manager, by the *_ARN settings, as the
// node and the functions do: the real CLI process against the rehearsal's AWS API stand-in (which
// checks each call's SigV4 principal against a policy and answers AccessDenied as AWS would) and
// a real redis-server as the shared registry. The API token read from the secret must then be
// what opens the API (an offer without it 401, with it past authentication), and a secret the
// principal may not read must stop the process with a message naming it — never start it open.
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AwsApi, startAwsApi } from "../infra/rehearsal/aws-api.js";
import { ClientPeer } from "../support/client-peer.js";
import { type RedisServer, startRedisServer } from "../support/redis-server.js";

const BIN = fileURLToPath(new URL("../../bin/rtcgw.mjs", import.meta.url));
const REGION = "eu-west-3";
const ACCOUNT = "123456789012";
const KEY = "ASIASIGNALINGTEST";
const arn = (n: string) => `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${n}-AbCdEf`;
const SECRETS = {
  [arn("NodeSecret")]: "node-secret-from-secrets-manager-0123",
  [arn("ApiToken")]: "api-token-from-secrets-manager-0123",
  [arn("TokenSecret")]: "token-secret-from-secrets-manager-0123456789abcdef",
  [arn("TurnSecret")]: "turn-secret-from-secrets-manager-0123",
};

let redis: RedisServer;
const apis: AwsApi[] = [];
const children: ChildProcess[] = [];

beforeAll(async () => {
  redis = await startRedisServer();
}, 20_000);

afterAll(async () => {
  for (const c of children) c.kill("SIGKILL");
  for (const a of apis) await a.close();
  await redis?.stop();
});

/** the Secrets Manager stand-in; the signaling principal may read only `readable` */
async function secretsManager(readable: string[]): Promise<AwsApi> {
  const api = await startAwsApi({
    principals: { [KEY]: "signaling" },
    policies: { signaling: [{ actions: ["secretsmanager:GetSecretValue"], resources: readable }] },
    dynamodb: "http://127.0.0.1:1",
    s3: "http://127.0.0.1:1",
    secrets: SECRETS,
    account: ACCOUNT,
    groupArn: (n) => n,
  });
  apis.push(api);
  return api;
}

/** `rtcgw signaling` with only ARNs in its environment; resolves with its URL or its exit */
function startSignaling(api: AwsApi): Promise<{ url?: string; code?: number | null; stderr: string }> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env))
    if (v !== undefined && !/^(RTCGW_|MEDIA_|PORT$|NODE_PORT$|AWS_)/.test(k)) env[k] = v;
  Object.assign(env, {
    PORT: "0",
    LOG_LEVEL: "warn",
    RTCGW_REGISTRY: redis.url,
    RTCGW_NODE_SECRET_ARN: arn("NodeSecret"),
    RTCGW_API_TOKEN_ARN: arn("ApiToken"),
    RTCGW_TOKEN_SECRET_ARN: arn("TokenSecret"),
    RTCGW_TURN_SECRET_ARN: arn("TurnSecret"),
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: KEY,
    AWS_SECRET_ACCESS_KEY: "signaling-test",
    AWS_ENDPOINT_URL_SECRETS_MANAGER: api.endpoint,
  });
  const child = spawn(process.execPath, [BIN, "signaling"], { env, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let out = "";
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  return new Promise((resolve) => {
    child.stdout!.on("data", (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve({ url: m[1]!, stderr });
    });
    child.on("exit", (code) => resolve({ code, stderr }));
  });
}

describe("rtcgw signaling: run-time secrets", () => {
  it("reads every *_ARN secret from Secrets Manager at start; the API token read there opens the API", async () => {
    const api = await secretsManager(Object.keys(SECRETS));
    const s = await startSignaling(api);
    expect(s.url, s.stderr).toBeDefined();
    const read = api.calls.filter((c) => c.action === "secretsmanager:GetSecretValue");
    expect(read.every((c) => c.allowed && c.principal === "signaling" && c.region === REGION)).toBe(true);
    expect(new Set(read.map((c) => c.resource))).toEqual(new Set(Object.keys(SECRETS)));
    // read once, at start: an offer does not read them again
    const before = read.length;

    const peer = await ClientPeer.create({ direction: "sendonly", dataChannel: false });
    try {
      const post = (auth?: string) =>
        fetch(`${s.url}/v1/whip?profile=record`, {
          method: "POST",
          headers: {
            "content-type": "application/sdp",
            ...(auth ? { authorization: `Bearer ${auth}` } : {}),
          },
          body: peer.offer,
        });
      expect((await post()).status).toBe(401);
      expect((await post("not-the-api-token-0123456789")).status).toBe(401);
      // the secret's value is the API token: past authentication, refused only for want of a node
      const r = await post(SECRETS[arn("ApiToken")]);
      expect(r.status, await r.clone().text()).toBe(503);
    } finally {
      await peer.close();
    }
    expect(api.calls.filter((c) => c.action === "secretsmanager:GetSecretValue").length).toBe(before);
  }, 60_000);

  it("a secret it may not read stops it at start, naming the secret — it never starts without it", async () => {
    const api = await secretsManager(Object.keys(SECRETS).filter((a) => a !== arn("ApiToken")));
    const s = await startSignaling(api);
    expect(s.url).toBeUndefined();
    expect(s.code).toBe(1);
    expect(s.stderr).toMatch(/could not read a secret from Secrets Manager/);
    expect(s.stderr).toMatch(/AccessDenied/);
    expect(
      api.calls.some((c) => c.resource === arn("ApiToken") && !c.allowed && c.principal === "signaling"),
    ).toBe(true);
  }, 60_000);
});
