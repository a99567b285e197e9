// CDK app: `npm run synth` / `npm run deploy`. Routes and the registry table's key schema come from
// the code the local emulator and the DynamoDB store use, so the cloud cannot drift from local.
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { App } from "aws-cdk-lib";
import { GatewayStack } from "../lib/gateway-stack.js";
import { gatewayStackProps } from "../lib/props.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const app = new App();
new GatewayStack(app, process.env.RTCGW_STACK_NAME ?? "rtcgw", {
  ...gatewayStackProps(root),
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
app.synth();
