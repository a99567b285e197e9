// Lambda result → HTTP response, as API Gateway maps a payload-2.0 result: a structured result's
// statusCode/headers/body (base64-decoded when isBase64Encoded), each cookie its own Set-Cookie;
// a non-structured result (string or object without statusCode) becomes a 200 JSON body.
import type { ServerResponse } from "node:http";
import type { APIGatewayProxyResultV2 } from "aws-lambda";

export function writeResult(res: ServerResponse, r: APIGatewayProxyResultV2 | undefined): void {
  if (r === undefined || r === null || typeof r !== "object" || !("statusCode" in r)) {
    const body = typeof r === "string" ? r : JSON.stringify(r ?? null);
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
    res.end(body);
    return;
  }
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(r.headers ?? {})) headers[k.toLowerCase()] = String(v);
  if (r.cookies?.length) headers["set-cookie"] = r.cookies;
  const body =
    r.body === undefined ? Buffer.alloc(0) : Buffer.from(r.body, r.isBase64Encoded ? "base64" : "utf8");
  if (body.length > 0 && !headers["content-type"]) headers["content-type"] = "application/json";
  // a HEAD's answer keeps the length its GET would have (the function says it: dispatch.ts);
  // Node sends no body for HEAD whatever is written
  if (!(res.req?.method === "HEAD" && headers["content-length"] !== undefined))
    headers["content-length"] = String(body.length);
  res.writeHead(r.statusCode ?? 200, headers);
  res.end(body);
}

/** What the gateway answers when there is no route, the function throws or times out. */
export function gatewayError(res: ServerResponse, status: 404 | 413 | 500 | 503): void {
  const message = {
    404: "Not Found",
    413: "Request Entity Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
  }[status];
  const body = JSON.stringify({ message });
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  res.end(body);
}
