// Reading an API Gateway payload-2.0 event: headers (already lower-cased by the gateway),
// the body (base64-decoded when the gateway says so), query parameters and the bearer token.
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { BEARER_TOKEN_RE } from "../config/index.js";
import { badRequest, unauthorized } from "./errors.js";

export type Event = APIGatewayProxyEventV2;

export function header(event: Event, name: string): string | undefined {
  const h = event.headers ?? {};
  const v = h[name] ?? h[name.toLowerCase()];
  if (v !== undefined) return v;
  // tolerate hand-built events with mixed-case names
  const lower = name.toLowerCase();
  for (const [k, val] of Object.entries(h)) if (k.toLowerCase() === lower) return val;
  return undefined;
}

/** The body as bytes (the gateway base64-encodes bodies it considers binary). */
export function bodyBytes(event: Event): Buffer {
  if (event.body === undefined || event.body === null) return Buffer.alloc(0);
  return event.isBase64Encoded ? Buffer.from(event.body, "base64") : Buffer.from(event.body, "utf8");
}

/** The media type of Content-Type without parameters, lower-cased (RFC 9110 §8.3.1). */
export function mediaType(event: Event): string | undefined {
  const ct = header(event, "content-type");
  if (!ct) return undefined;
  return ct.split(";")[0]!.trim().toLowerCase();
}

/** A query parameter that takes one value of a fixed set (none of which has a comma). Repeated
 *  parameters arrive comma-joined (API Gateway, the emulator): `?profile=echo&profile=record` and
 *  `?profile=echo,record` both read "echo,record", and are refused (400 bad-<name>) rather than
 *  cut to their first value — the second would silently not happen. */
export function query(event: Event, name: string): string | undefined {
  const v = event.queryStringParameters?.[name];
  if (v?.includes(","))
    throw badRequest(
      `bad-${name.replaceAll("_", "-")}`,
      `${name} takes one value, given once (got "${v.slice(0, 80)}": a repeat or a list)`,
    );
  return v;
}

/** RFC 6750 §2.1: `Authorization: Bearer <token>` (the scheme is case-insensitive). */
export function bearerToken(event: Event): string | undefined {
  const auth = header(event, "authorization");
  if (!auth) return undefined;
  const m = /^bearer[ \t]+(\S+)[ \t]*$/i.exec(auth);
  return m && BEARER_TOKEN_RE.test(m[1]!) ? m[1] : undefined;
}

/** The request's Bearer token (undefined without one). A `Bearer` credential that is not made of
 *  RFC 6750 token characters is refused (401) with the rule, rather than read as no credential:
 *  the client meant to authenticate, and would otherwise hear that it sent nothing. */
export function requestBearer(event: Event): string | undefined {
  const token = bearerToken(event);
  if (token !== undefined) return token;
  if (/^bearer[ \t]+\S/i.test(header(event, "authorization") ?? ""))
    throw unauthorized(
      "the Authorization header's Bearer token is not valid RFC 6750 syntax: one token of A-Z a-z 0-9 - . _ ~ + / and, at its end only, =",
    );
  return undefined;
}

/** The public base path in front of the /v1 routes (a named API Gateway stage adds a prefix). */
export function basePath(event: Event): string {
  const raw = event.rawPath ?? "";
  const i = raw.indexOf("/v1/");
  return i > 0 ? raw.slice(0, i) : "";
}
