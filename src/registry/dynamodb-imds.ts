// Credentials from the EC2 instance metadata service, IMDSv2 only (a session token first, then
// the role's credentials): what the media node gets on an EC2 instance with an instance profile.
// https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instance-metadata-security-credentials.html
// Every request is short-bounded: off EC2 nothing answers at 169.254.169.254 and we must say so fast.
// Plain node:http (../http/client.ts), like the store itself: no fetch to load.
import { type KeepAliveAgents, keepAliveAgents, request } from "../http/client.js";

export interface ImdsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  /** epoch ms */
  expiresAt: number;
}

/** The endpoint the AWS SDKs use; AWS_EC2_METADATA_SERVICE_ENDPOINT overrides it (as in the SDKs). */
export const imdsEndpoint = (): string =>
  (process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT ?? "http://169.254.169.254").replace(/\/+$/, "");

// made on first use (rarely: credentials last hours); its idle sockets close by themselves
let agents: KeepAliveAgents | undefined;

export async function fetchImdsCredentials(
  endpoint = imdsEndpoint(),
  timeoutMs = 1000,
): Promise<ImdsCredentials> {
  agents ??= keepAliveAgents();
  const pool = agents;
  const req = async (path: string, init: { method?: string; headers: Record<string, string> }) => {
    const method = init.method ?? "GET";
    const res = await request(new URL(`${endpoint}${path}`), {
      method,
      headers: init.headers,
      timeoutMs,
      agents: pool,
    });
    if (res.status < 200 || res.status >= 300) throw new Error(`IMDS ${method} ${path}: HTTP ${res.status}`);
    return res.body;
  };
  const token = await req("/latest/api/token", {
    method: "PUT",
    headers: { "x-aws-ec2-metadata-token-ttl-seconds": "21600" },
  });
  const h = { "x-aws-ec2-metadata-token": token };
  const base = "/latest/meta-data/iam/security-credentials/";
  // An instance without an instance profile answers 404 here.
  const roles = await req(base, { headers: h }).catch((e: Error) => {
    if (/HTTP 404$/.test(e.message)) return "";
    throw e;
  });
  const role = roles.split("\n")[0]?.trim();
  if (!role) throw new Error("IMDS: the instance has no IAM role (instance profile)");
  const c = JSON.parse(await req(`${base}${encodeURIComponent(role)}`, { headers: h })) as {
    Code?: string;
    AccessKeyId?: string;
    SecretAccessKey?: string;
    Token?: string;
    Expiration?: string;
  };
  if (c.Code !== undefined && c.Code !== "Success")
    throw new Error(`IMDS: role ${role} credentials: ${c.Code}`);
  if (!c.AccessKeyId || !c.SecretAccessKey || !c.Token || !c.Expiration)
    throw new Error(`IMDS: role ${role} answered without complete credentials`);
  const expiresAt = Date.parse(c.Expiration);
  if (!Number.isFinite(expiresAt)) throw new Error(`IMDS: bad Expiration ${c.Expiration}`);
  return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.Token, expiresAt };
}
