// HTTP request → API Gateway HTTP API payload-format 2.0 event, as the gateway builds it:
// https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
// Header names lower-cased, duplicates comma-joined; Cookie headers moved into `cookies`;
// duplicate query parameters comma-joined; binary bodies base64-encoded.
import { randomBytes } from "node:crypto";
import type { APIGatewayProxyEventV2 } from "aws-lambda";

export interface RawRequest {
  method: string;
  /** path and query as received, e.g. /v1/whip?profile=echo */
  url: string;
  /** node's IncomingMessage.rawHeaders: [name, value, name, value, …] */
  rawHeaders: string[];
  body: Buffer;
  sourceIp: string;
  /** "1.1" */
  httpVersion: string;
}

export interface EventTarget {
  /** "POST /v1/whip" or "$default" */
  routeKey: string;
  pathParameters?: Record<string, string>;
  stage?: string;
  apiId?: string;
  now?: number;
}

/** Emulated account/API: stable values that look like the gateway's. */
export const EMULATOR_ACCOUNT_ID = "000000000000";
export const EMULATOR_API_ID = "local";

const TEXT_TYPES =
  /^(text\/|application\/(json|sdp|trickle-ice-sdpfrag|xml|javascript|x-www-form-urlencoded)|[^;]*\+(json|xml))/i;

export function buildEvent(req: RawRequest, target: EventTarget): APIGatewayProxyEventV2 {
  const now = target.now ?? Date.now();
  const q = req.url.indexOf("?");
  const rawPath = q === -1 ? req.url : req.url.slice(0, q);
  const rawQueryString = q === -1 ? "" : req.url.slice(q + 1);

  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!.toLowerCase();
    const value = req.rawHeaders[i + 1]!;
    if (name === "cookie") {
      for (const c of value.split(";")) if (c.trim()) cookies.push(c.trim());
      continue;
    }
    headers[name] = name in headers ? `${headers[name]},${value}` : value;
  }

  const queryStringParameters: Record<string, string> = {};
  for (const part of rawQueryString.split("&")) {
    if (!part) continue;
    const eq = part.indexOf("=");
    const k = decodeQuery(eq === -1 ? part : part.slice(0, eq));
    const v = decodeQuery(eq === -1 ? "" : part.slice(eq + 1));
    queryStringParameters[k] = k in queryStringParameters ? `${queryStringParameters[k]},${v}` : v;
  }

  const host = headers.host ?? "localhost";
  const domainName = host.replace(/:\d+$/, "");
  const stage = target.stage ?? "$default";
  const { body, isBase64Encoded } = encodeBody(req.body, headers["content-type"]);

  const event: APIGatewayProxyEventV2 = {
    version: "2.0",
    routeKey: target.routeKey,
    rawPath,
    rawQueryString,
    ...(cookies.length ? { cookies } : {}),
    headers,
    ...(Object.keys(queryStringParameters).length ? { queryStringParameters } : {}),
    requestContext: {
      accountId: EMULATOR_ACCOUNT_ID,
      apiId: target.apiId ?? EMULATOR_API_ID,
      domainName,
      domainPrefix: domainName.split(".")[0]!,
      http: {
        method: req.method.toUpperCase(),
        path: rawPath,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.sourceIp,
        userAgent: headers["user-agent"] ?? "",
      },
      requestId: randomBytes(12).toString("base64url"),
      routeKey: target.routeKey,
      stage,
      time: clfTime(now),
      timeEpoch: now,
    },
    ...(body !== undefined ? { body } : {}),
    ...(target.pathParameters && Object.keys(target.pathParameters).length
      ? { pathParameters: target.pathParameters }
      : {}),
    isBase64Encoded,
  };
  return event;
}

function decodeQuery(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, " "));
  } catch {
    return s;
  }
}

/** Text bodies pass as they are; anything else (or invalid UTF-8) is base64, as the gateway does. */
function encodeBody(
  bytes: Buffer,
  contentType: string | undefined,
): { body?: string; isBase64Encoded: boolean } {
  if (bytes.length === 0) return { isBase64Encoded: false };
  const text = contentType === undefined || TEXT_TYPES.test(contentType);
  if (text) {
    const s = bytes.toString("utf8");
    if (Buffer.from(s, "utf8").equals(bytes)) return { body: s, isBase64Encoded: false };
  }
  return { body: bytes.toString("base64"), isBase64Encoded: true };
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const pad = (n: number) => String(n).padStart(2, "0");

/** The gateway's requestContext.time: Common Log Format, UTC ("12/Mar/2020:19:03:58 +0000"). */
export function clfTime(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(
    d.getUTCMinutes(),
  )}:${pad(d.getUTCSeconds())} +0000`;
}
