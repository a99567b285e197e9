// Instance metadata (IMDSv2 only: a session token first), for what the node learns about its own
// instance at run time: its id, its Auto Scaling lifecycle state. The endpoint is the SDKs'
// AWS_EC2_METADATA_SERVICE_ENDPOINT (the rehearsal's stand-in on loopback).
import { keepAliveAgents, request } from "../http/client.js";
import { imdsEndpoint } from "../registry/dynamodb-imds.js";

const agents = keepAliveAgents();

export async function imdsGet(path: string, timeoutMs = 1_000): Promise<string> {
  const base = imdsEndpoint();
  const t = await request(new URL(`${base}/latest/api/token`), {
    method: "PUT",
    headers: { "x-aws-ec2-metadata-token-ttl-seconds": "300" },
    timeoutMs,
    agents,
  });
  if (t.status !== 200) throw new Error(`IMDS token: HTTP ${t.status}`);
  const res = await request(new URL(`${base}${path}`), {
    method: "GET",
    headers: { "x-aws-ec2-metadata-token": t.body },
    timeoutMs,
    agents,
  });
  if (res.status !== 200) throw new Error(`IMDS ${path}: HTTP ${res.status}`);
  return res.body.trim();
}
