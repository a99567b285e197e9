// Emulator fidelity: the event built for the request behind AWS's documented payload-2.0 sample
// (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html,
// written by hand into fixtures/payload-v2-sample.json) matches it field by field. Fields the
// emulator cannot have — mTLS client certificates, authorizers, stage variables — are the only
// ones allowed to differ, and are listed here.
import { readFileSync } from "node:fs";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { describe, expect, it } from "vitest";
import { buildEvent, clfTime } from "../../src/emulator/event.js";

const sample = JSON.parse(
  readFileSync(new URL("./fixtures/payload-v2-sample.json", import.meta.url), "utf8"),
) as APIGatewayProxyEventV2 & { stageVariables: unknown };

const NOT_EMULATED = new Set(["stageVariables"]);
const NOT_EMULATED_CONTEXT = new Set(["authentication", "authorizer"]);
/** per-deployment or per-request values: present with the right type, not equal */
const VARIABLE_CONTEXT = new Set([
  "accountId",
  "apiId",
  "domainName",
  "domainPrefix",
  "requestId",
  "time",
  "timeEpoch",
]);

function sampleRequestEvent(): APIGatewayProxyEventV2 {
  // the request the sample describes, as it arrives on the wire
  return buildEvent(
    {
      method: "POST",
      url: "/my/path?parameter1=value1&parameter1=value2&parameter2=value",
      rawHeaders: [
        "Header1",
        "value1",
        "header2",
        "value1",
        "HEADER2",
        "value2",
        "Cookie",
        "cookie1; cookie2",
        "User-Agent",
        "agent",
        "Host",
        "id.execute-api.us-east-1.amazonaws.com",
      ],
      body: Buffer.from("Hello from Lambda"),
      sourceIp: "192.0.2.1",
      httpVersion: "1.1",
    },
    { routeKey: "$default", pathParameters: { parameter1: "value1" }, now: sample.requestContext.timeEpoch },
  );
}

describe("payload format 2.0 against the AWS documentation sample", () => {
  const ev = sampleRequestEvent() as unknown as Record<string, unknown>;
  const s = sample as unknown as Record<string, unknown>;

  it("has exactly the sample's top-level fields, except the ones the emulator cannot have", () => {
    const want = Object.keys(s)
      .filter((k) => !NOT_EMULATED.has(k))
      .sort();
    expect(Object.keys(ev).sort()).toEqual(want);
  });

  for (const field of [
    "version",
    "routeKey",
    "rawPath",
    "rawQueryString",
    "cookies",
    "queryStringParameters",
    "body",
    "pathParameters",
    "isBase64Encoded",
  ]) {
    it(`${field} equals the sample's`, () => {
      expect(ev[field]).toEqual(s[field]);
    });
  }

  it("headers: lower-cased names, duplicates comma-joined, cookies moved out, the sample's headers equal", () => {
    const h = ev.headers as Record<string, string>;
    for (const [k, v] of Object.entries(sample.headers)) expect(h[k]).toBe(v);
    for (const k of Object.keys(h)) expect(k).toBe(k.toLowerCase());
    expect(h.cookie).toBeUndefined();
    // only what a real wire request adds beyond the sample's abbreviated list
    expect(Object.keys(h).sort()).toEqual(["header1", "header2", "host", "user-agent"]);
  });

  it("requestContext: same fields; http, routeKey and stage equal; per-request values well-typed", () => {
    const ctx = ev.requestContext as Record<string, unknown>;
    const sctx = sample.requestContext as unknown as Record<string, unknown>;
    const want = Object.keys(sctx)
      .filter((k) => !NOT_EMULATED_CONTEXT.has(k))
      .sort();
    expect(Object.keys(ctx).sort()).toEqual(want);
    expect(ctx.http).toEqual(sctx.http);
    expect(ctx.routeKey).toBe(sctx.routeKey);
    expect(ctx.stage).toBe(sctx.stage);
    for (const k of VARIABLE_CONTEXT) expect(typeof ctx[k]).toBe(typeof sctx[k]);
    expect(ctx.domainName).toBe(sctx.domainName);
    expect(ctx.domainPrefix).toBe(sctx.domainPrefix);
    expect(ctx.timeEpoch).toBe(sctx.timeEpoch);
    expect(ctx.time).toMatch(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
    expect(ctx.time).toBe(clfTime(sample.requestContext.timeEpoch));
  });

  it("the Common Log Format time matches the sample's own rendering of a known instant", () => {
    expect(clfTime(Date.UTC(2020, 2, 12, 19, 3, 58))).toBe("12/Mar/2020:19:03:58 +0000");
  });
});

describe("bodies", () => {
  const base = { method: "POST", url: "/x", sourceIp: "127.0.0.1", httpVersion: "1.1" };
  it("binary bodies are base64 with isBase64Encoded; text bodies are kept; no body means no field", () => {
    const bin = Buffer.from([0, 1, 2, 0xff, 0xfe]);
    const a = buildEvent(
      { ...base, rawHeaders: ["content-type", "application/octet-stream"], body: bin },
      { routeKey: "$default" },
    );
    expect(a.isBase64Encoded).toBe(true);
    expect(Buffer.from(a.body!, "base64")).toEqual(bin);
    const sdp = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n";
    const b = buildEvent(
      { ...base, rawHeaders: ["content-type", "application/sdp"], body: Buffer.from(sdp) },
      { routeKey: "$default" },
    );
    expect(b.isBase64Encoded).toBe(false);
    expect(b.body).toBe(sdp);
    // invalid UTF-8 under a text type is still binary
    const c = buildEvent(
      { ...base, rawHeaders: ["content-type", "text/plain"], body: Buffer.from([0xc3, 0x28]) },
      { routeKey: "$default" },
    );
    expect(c.isBase64Encoded).toBe(true);
    const d = buildEvent(
      { ...base, method: "GET", rawHeaders: [], body: Buffer.alloc(0) },
      { routeKey: "$default" },
    );
    expect("body" in d).toBe(false);
    expect("cookies" in d).toBe(false);
    expect("queryStringParameters" in d).toBe(false);
  });
});
