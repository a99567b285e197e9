// Synthesise the stack for tests: stand-in function bundles (the synth must not depend on
// `npm run build`; the rehearsal passes the real ones), the artifact of this repository's HEAD.
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { GatewayStack } from "../../infra/lib/gateway-stack.js";
import { gatewayStackProps } from "../../infra/lib/props.js";
import { HANDLER_NAMES } from "../../src/signaling/routes.js";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export interface Synth {
  template: Template;
  json: CfnTemplate;
  /** cdk.out directory (asset files, manifest) */
  outdir: string;
  stackName: string;
}

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON is read field by field
type Json = any;
export type CfnTemplate = {
  Resources: Record<string, { Type: string; Properties?: Json; [k: string]: Json }>;
  Parameters?: Record<string, Json>;
};

export function standInBundles(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "rtcgw-fns-"));
  for (const h of HANDLER_NAMES) {
    mkdirSync(path.join(dir, h), { recursive: true });
    writeFileSync(path.join(dir, h, "index.mjs"), "export const handler = async () => ({});\n");
  }
  return dir;
}

export function synth(
  env: NodeJS.ProcessEnv = {},
  o: { functionsDir?: string; stackName?: string } = {},
): Synth {
  const outdir = mkdtempSync(path.join(tmpdir(), "rtcgw-cdk-out-"));
  const app = new App({ outdir });
  const stackName = o.stackName ?? "rtcgw-test";
  const stack = new GatewayStack(app, stackName, {
    ...gatewayStackProps(ROOT, env),
    functionsDir: o.functionsDir ?? standInBundles(),
  });
  const template = Template.fromStack(stack);
  app.synth();
  return { template, json: template.toJSON() as CfnTemplate, outdir, stackName };
}

/** resources of a type, as [logicalId, resource] */
export function resourcesOf(t: CfnTemplate, type: string) {
  return Object.entries(t.Resources).filter(([, r]) => r.Type === type);
}

/** the launch template's user data as the instance receives it, tokens left as {token} objects */
export function userDataParts(t: CfnTemplate): unknown[] {
  const lts = resourcesOf(t, "AWS::EC2::LaunchTemplate");
  if (lts.length !== 1) throw new Error(`${lts.length} launch templates`);
  const ud = lts[0]![1].Properties.LaunchTemplateData.UserData["Fn::Base64"] as unknown;
  if (typeof ud === "string") return [ud];
  const join = (ud as { "Fn::Join": [string, unknown[]] })["Fn::Join"];
  return join[1];
}
