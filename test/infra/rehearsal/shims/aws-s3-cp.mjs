// `aws s3 cp s3://bucket/key FILE --region R` through @aws-sdk/client-s3 (see ./aws).
import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";

const args = process.argv.slice(2);
if (args[0] !== "s3" || args[1] !== "cp") {
  process.stderr.write(`aws stand-in: only "aws s3 cp s3://… FILE" is supported, got: ${args.join(" ")}\n`);
  process.exit(2);
}
const [src, dest] = args
  .slice(2)
  .filter((a, i, all) => !a.startsWith("--") && !all[i - 1]?.startsWith("--region"));
const region = args[args.indexOf("--region") + 1];
if (!args.includes("--region") || !region) {
  process.stderr.write("aws stand-in: no --region (the instance has no default region)\n");
  process.exit(255);
}
const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(src ?? "");
if (!m || !dest) {
  process.stderr.write(`aws stand-in: usage: aws s3 cp s3://bucket/key FILE\n`);
  process.exit(2);
}
// resolved from the repository the rehearsal runs in
const require = createRequire(`${process.env.RTCGW_REHEARSAL_REPO}/package.json`);
const { S3Client, GetObjectCommand } = require("@aws-sdk/client-s3");
const client = new S3Client({ region, endpoint: process.env.AWS_ENDPOINT_URL_S3, forcePathStyle: true });
try {
  const out = await client.send(new GetObjectCommand({ Bucket: m[1], Key: m[2] }));
  writeFileSync(dest, Buffer.from(await out.Body.transformToByteArray()));
} catch (e) {
  process.stderr.write(`download failed: ${src} to ${dest} An error occurred (${e.name}): ${e.message}\n`);
  process.exit(1);
}
