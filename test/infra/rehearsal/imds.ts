// A local EC2 instance metadata service, IMDSv2 only (a GET without a session token is 401, as on
// an instance whose launch template requires tokens): the instance's addresses and id, its Auto
// Scaling target lifecycle state (which the rehearsal turns to "Terminated"), and its role's
// credentials (whose access key names the principal to the AWS stand-in).
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface Imds {
  endpoint: string;
  lifecycleState: string;
  /** GETs refused for lack of a token (must stay 0) */
  tokenless: number;
  close(): Promise<void>;
}

export async function startImds(o: {
  privateIp: string;
  publicIp: string;
  instanceId: string;
  role: string;
  accessKeyId: string;
}): Promise<Imds> {
  const tokens = new Set<string>();
  const state: Imds = {
    endpoint: "",
    lifecycleState: "InService",
    tokenless: 0,
    close: () => new Promise((r) => server.close(() => r())),
  };
  const server: Server = createServer((req, res) => {
    const url = req.url ?? "";
    if (req.method === "PUT" && url === "/latest/api/token") {
      if (!req.headers["x-aws-ec2-metadata-token-ttl-seconds"]) return void res.writeHead(400).end();
      const t = randomBytes(16).toString("hex");
      tokens.add(t);
      return void res.writeHead(200).end(t);
    }
    const token = req.headers["x-aws-ec2-metadata-token"];
    if (typeof token !== "string" || !tokens.has(token)) {
      state.tokenless++;
      return void res.writeHead(401).end();
    }
    const base = "/latest/meta-data/";
    const creds = `${base}iam/security-credentials/`;
    const answers: Record<string, string> = {
      [`${base}local-ipv4`]: o.privateIp,
      [`${base}public-ipv4`]: o.publicIp,
      [`${base}instance-id`]: o.instanceId,
      [`${base}placement/region`]: "",
      [`${base}autoscaling/target-lifecycle-state`]: state.lifecycleState,
      [creds]: o.role,
      [`${creds}${o.role}`]: JSON.stringify({
        Code: "Success",
        Type: "AWS-HMAC",
        AccessKeyId: o.accessKeyId,
        SecretAccessKey: "rehearsal-secret-key",
        Token: "rehearsal-session-token",
        Expiration: new Date(Date.now() + 6 * 3600_000).toISOString(),
        LastUpdated: new Date().toISOString(),
      }),
    };
    const a = answers[url.split("?")[0]!];
    if (a === undefined || a === "") return void res.writeHead(404).end();
    res.writeHead(200, { "content-type": "text/plain" }).end(a);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  state.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  server.unref();
  return state;
}
