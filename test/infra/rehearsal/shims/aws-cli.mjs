// The rehearsal's `aws` (see ./aws), for the calls the user data and the bootstrap make:
//   aws s3 cp s3://bucket/key FILE --region R [--only-show-errors]          (@aws-sdk/client-s3)
//   aws secretsmanager get-secret-value --region R --secret-id ARN --query SecretString --output text
//   aws autoscaling complete-lifecycle-action --region R --auto-scaling-group-name G
//     --lifecycle-hook-name H --instance-id I --lifecycle-action-result CONTINUE|ABANDON
// Each with the CLI's inputs: the region flag (required: the instance has no default region), the
// service's AWS_ENDPOINT_URL_*, the instance role's credentials from IMDS — so the call reaches the
// stand-in that enforces the node role's policy.
import { createHash, createHmac } from "node:crypto";
import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";

const args = process.argv.slice(2);
const opt = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const region = opt("--region");
if (!region) {
  process.stderr.write("aws stand-in: no --region (the instance has no default region)\n");
  process.exit(255);
}
// resolved from the repository the rehearsal runs in
const require = createRequire(`${process.env.RTCGW_REHEARSAL_REPO}/package.json`);

/** a SigV4-signed POST with the instance role's credentials (IMDS), as the CLI signs it */
async function signedPost(service, override, body, headers) {
  const endpoint = new URL(override ?? `https://${service}.${region}.amazonaws.com`);
  const { SignatureV4 } = require("@smithy/signature-v4");
  const { defaultProvider } = require("@aws-sdk/credential-provider-node");
  class Sha256 {
    constructor(secret) {
      this.h = secret ? createHmac("sha256", secret) : createHash("sha256");
    }
    update(d) {
      this.h.update(d);
    }
    async digest() {
      return new Uint8Array(this.h.digest());
    }
  }
  const signer = new SignatureV4({ service, region, credentials: defaultProvider(), sha256: Sha256 });
  const signed = await signer.sign({
    method: "POST",
    protocol: endpoint.protocol,
    hostname: endpoint.hostname,
    port: endpoint.port ? Number(endpoint.port) : undefined,
    path: "/",
    headers: { host: endpoint.host, ...headers },
    body,
  });
  return fetch(new URL("/", endpoint), { method: "POST", headers: signed.headers, body });
}

if (args[0] === "s3" && args[1] === "cp") {
  const [src, dest] = args
    .slice(2)
    .filter((a, i, all) => !a.startsWith("--") && !all[i - 1]?.startsWith("--region"));
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(src ?? "");
  if (!m || !dest) {
    process.stderr.write("aws stand-in: usage: aws s3 cp s3://bucket/key FILE\n");
    process.exit(2);
  }
  const { S3Client, GetObjectCommand } = require("@aws-sdk/client-s3");
  const client = new S3Client({ region, endpoint: process.env.AWS_ENDPOINT_URL_S3, forcePathStyle: true });
  try {
    const out = await client.send(new GetObjectCommand({ Bucket: m[1], Key: m[2] }));
    writeFileSync(dest, Buffer.from(await out.Body.transformToByteArray()));
  } catch (e) {
    process.stderr.write(`download failed: ${src} to ${dest} An error occurred (${e.name}): ${e.message}\n`);
    process.exit(1);
  }
} else if (args[0] === "secretsmanager" && args[1] === "get-secret-value") {
  const id = opt("--secret-id");
  if (!id || opt("--query") !== "SecretString" || opt("--output") !== "text") {
    process.stderr.write(
      "aws stand-in: usage: aws secretsmanager get-secret-value --secret-id ID --query SecretString --output text\n",
    );
    process.exit(2);
  }
  const body = JSON.stringify({ SecretId: id });
  const r = await signedPost("secretsmanager", process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER, body, {
    "content-type": "application/x-amz-json-1.1",
    "x-amz-target": "secretsmanager.GetSecretValue",
  });
  const out = await r.json();
  if (!r.ok || typeof out.SecretString !== "string") {
    process.stderr.write(
      `An error occurred (${out.__type ?? r.status}) when calling the GetSecretValue operation: ${out.message ?? ""}\n`,
    );
    process.exit(254);
  }
  process.stdout.write(`${out.SecretString}\n`);
} else if (args[0] === "autoscaling" && args[1] === "complete-lifecycle-action") {
  const params = {
    Action: "CompleteLifecycleAction",
    Version: "2011-01-01",
    AutoScalingGroupName: opt("--auto-scaling-group-name"),
    LifecycleHookName: opt("--lifecycle-hook-name"),
    InstanceId: opt("--instance-id"),
    LifecycleActionResult: opt("--lifecycle-action-result"),
  };
  if (Object.values(params).some((v) => !v)) {
    process.stderr.write(
      "aws stand-in: usage: aws autoscaling complete-lifecycle-action --auto-scaling-group-name G --lifecycle-hook-name H --instance-id I --lifecycle-action-result R\n",
    );
    process.exit(2);
  }
  const r = await signedPost(
    "autoscaling",
    process.env.AWS_ENDPOINT_URL_AUTO_SCALING,
    new URLSearchParams(params).toString(),
    {
      "content-type": "application/x-www-form-urlencoded; charset=utf-8",
    },
  );
  if (!r.ok) {
    process.stderr.write(
      `An error occurred (${r.status}) when calling the CompleteLifecycleAction operation: ${await r.text()}\n`,
    );
    process.exit(254);
  }
} else {
  process.stderr.write(`aws stand-in: not supported: ${args.join(" ")}\n`);
  process.exit(2);
}
