// Runs CDK's AwsCustomResource provider handler (the code AWS runs for the stack's instance-refresh
// resource, shipped in aws-cdk-lib) on one CloudFormation event, as Lambda would: the event is
// argv[2] (JSON), the SDK call goes wherever AWS_ENDPOINT_URL_AUTO_SCALING points, signed with the
// credentials of this environment. CloudFormation's response URL is a presigned S3 URL the handler
// PUTs to with `https` on port 443; here that PUT is captured instead (printed as one line
// "CFN-RESPONSE <json>") — the one part of the round trip that is not real.
const https = require("node:https");
const { EventEmitter } = require("node:events");

https.request = (options, onResponse) => {
  const req = new EventEmitter();
  let body = "";
  req.write = (d) => {
    body += d;
    return true;
  };
  req.end = () => {
    process.stdout.write(
      `CFN-RESPONSE ${JSON.stringify({ path: options.path, method: options.method, body: JSON.parse(body) })}\n`,
    );
    const res = new EventEmitter();
    res.statusCode = 200;
    onResponse?.(res);
    setImmediate(() => res.emit("end"));
  };
  return req;
};

// (not in aws-cdk-lib's exports: reached by its path in the package)
const handlerFile = require("node:path").join(
  require("node:path").dirname(require.resolve("aws-cdk-lib")),
  "custom-resource-handlers/dist/custom-resources/aws-custom-resource-handler/index.js",
);
const { handler } = require(handlerFile);
handler(JSON.parse(process.argv[2]), {
  logStreamName: "refresh-provider-host",
  getRemainingTimeInMillis: () => 60_000,
})
  .then(() => process.exit(0))
  .catch((e) => {
    process.stderr.write(`handler threw: ${e?.stack ?? e}\n`);
    process.exit(1);
  });
