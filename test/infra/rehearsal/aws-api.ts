// The AWS APIs the node, its agent, the bootstrap's `aws s3 cp` and the functions call, on one
// loopback port: each request's principal is named by the access key it was signed with (the
// instance role's from IMDS, each function's from its environment), each call is checked against
// that principal's policies in the template (iam.ts) — denied with 403 AccessDenied as AWS would —
// and recorded. Allowed DynamoDB calls go to dynalite, S3 calls to s3rver; Secrets Manager,
// CloudWatch PutMetricData and Auto Scaling lifecycle actions are answered here.
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { allowed, type Statement } from "./iam.js";

export interface Call {
  principal: string;
  service: string;
  action: string;
  resource: string;
  region: string;
  allowed: boolean;
  params?: Record<string, string>;
}

export interface AwsApiOptions {
  /** access key id → principal name */
  principals: Record<string, string>;
  /** principal → its role's statements, resolved */
  policies: Record<string, Statement[]>;
  dynamodb: string;
  s3: string;
  secrets: Record<string, string>;
  account: string;
  /** Auto Scaling group names → their ARNs */
  groupArn: (name: string) => string;
}

export interface AwsApi {
  endpoint: string;
  calls: Call[];
  close(): Promise<void>;
}

const readBody = (req: IncomingMessage) =>
  new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });

/** which IAM action and resource an S3 REST request is */
function s3Action(method: string, url: URL): { action: string; resource: string } {
  const [bucket, ...rest] = url.pathname.replace(/^\//, "").split("/");
  const key = decodeURIComponent(rest.join("/"));
  const q = url.searchParams;
  const object = `arn:aws:s3:::${bucket}/${key}`;
  if (!key)
    return {
      action: method === "GET" ? "s3:ListBucket" : `s3:${method}Bucket`,
      resource: `arn:aws:s3:::${bucket}`,
    };
  if (method === "DELETE" && q.has("uploadId"))
    return { action: "s3:AbortMultipartUpload", resource: object };
  if (method === "GET" && q.has("uploadId"))
    return { action: "s3:ListMultipartUploadParts", resource: object };
  if (method === "PUT" || method === "POST") return { action: "s3:PutObject", resource: object };
  if (method === "GET" || method === "HEAD") return { action: "s3:GetObject", resource: object };
  if (method === "DELETE") return { action: "s3:DeleteObject", resource: object };
  return { action: `s3:${method}`, resource: object };
}

function deny(res: ServerResponse, service: string, message: string) {
  if (service === "dynamodb" || service === "secretsmanager") {
    res.writeHead(400, { "content-type": "application/x-amz-json-1.1" });
    res.end(JSON.stringify({ __type: "com.amazon.coral.service#AccessDeniedException", message }));
  } else if (service === "s3") {
    res.writeHead(403, { "content-type": "application/xml" });
    res.end(`<?xml version="1.0"?><Error><Code>AccessDenied</Code><Message>${message}</Message></Error>`);
  } else {
    res.writeHead(403, { "content-type": "text/xml" });
    res.end(
      `<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>${message}</Message></Error></ErrorResponse>`,
    );
  }
}

function forward(target: string, req: IncomingMessage, body: Buffer, res: ServerResponse, dropAuth: boolean) {
  const t = new URL(target);
  const headers = { ...req.headers, host: t.host };
  if (dropAuth) delete headers.authorization; // s3rver checks no SigV4; anonymous is what it serves
  const up = request({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers }, (r) => {
    res.writeHead(r.statusCode ?? 502, r.headers);
    r.pipe(res);
  });
  up.on("error", (e) => {
    res.writeHead(502).end(String(e));
  });
  up.end(body);
}

export async function startAwsApi(o: AwsApiOptions): Promise<AwsApi> {
  const calls: Call[] = [];
  const server: Server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const auth = req.headers.authorization ?? "";
      const m = /Credential=([^/]+)\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/.exec(auth);
      if (!m) return void res.writeHead(403).end("unsigned request");
      const [, keyId, region, service] = m as unknown as [string, string, string, string];
      const principal = o.principals[keyId] ?? `unknown:${keyId}`;
      const url = new URL(req.url ?? "/", "http://x");
      let action = "";
      let resource = "*";
      let params: Record<string, string> | undefined;
      const context: Record<string, string> = {};
      if (service === "dynamodb") {
        const op = String(req.headers["x-amz-target"] ?? "").split(".")[1] ?? "";
        const input = JSON.parse(body.toString() || "{}") as { TableName?: string; IndexName?: string };
        action = `dynamodb:${op}`;
        resource = `arn:aws:dynamodb:${region}:${o.account}:table/${input.TableName}${input.IndexName ? `/index/${input.IndexName}` : ""}`;
      } else if (service === "secretsmanager") {
        const op = String(req.headers["x-amz-target"] ?? "").split(".")[1] ?? "";
        action = `secretsmanager:${op}`;
        resource = (JSON.parse(body.toString() || "{}") as { SecretId?: string }).SecretId ?? "";
      } else if (service === "monitoring" || service === "autoscaling") {
        params = Object.fromEntries(new URLSearchParams(body.toString()));
        action = `${service === "monitoring" ? "cloudwatch" : "autoscaling"}:${params.Action}`;
        if (service === "monitoring") context["cloudwatch:namespace"] = params.Namespace ?? "";
        else resource = o.groupArn(params.AutoScalingGroupName ?? "");
      } else if (service === "s3") {
        ({ action, resource } = s3Action(req.method ?? "GET", url));
      }
      const ok = allowed(o.policies[principal] ?? [], action, resource, context);
      calls.push({
        principal,
        service,
        action,
        resource,
        region,
        allowed: ok,
        ...(params ? { params } : {}),
      });
      if (!ok)
        return deny(res, service, `${principal} is not authorized to perform ${action} on ${resource}`);
      if (service === "dynamodb") return forward(o.dynamodb, req, body, res, false);
      if (service === "s3") return forward(o.s3, req, body, res, true);
      if (service === "secretsmanager") {
        const id = resource;
        const value = o.secrets[id];
        if (value === undefined) {
          res.writeHead(400, { "content-type": "application/x-amz-json-1.1" });
          return void res.end(
            JSON.stringify({ __type: "ResourceNotFoundException", message: `no secret ${id}` }),
          );
        }
        res.writeHead(200, { "content-type": "application/x-amz-json-1.1" });
        return void res.end(JSON.stringify({ ARN: id, Name: id.split(":").pop(), SecretString: value }));
      }
      res.writeHead(200, { "content-type": "text/xml" });
      res.end(
        `<${params?.Action}Response><ResponseMetadata><RequestId>rehearsal</RequestId></ResponseMetadata></${params?.Action}Response>`,
      );
    })().catch((e) => {
      if (!res.headersSent) res.writeHead(500).end(String(e));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  server.unref();
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
