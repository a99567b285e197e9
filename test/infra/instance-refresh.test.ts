// The instance refresh the deploy starts (infra/lib/instance-refresh.ts), run as far as it runs
// off AWS: the stack's custom resource — its Create/Update properties as the template writes them,
// a LaunchTemplateVersion that changed — handed as a CloudFormation Update event to CDK's own
// AwsCustomResource provider handler (the code AWS runs, from aws-cdk-lib), signed with the
// provider role's credentials, against the rehearsal's AWS API stand-in, which enforces that role's
// policy from the template. What reaches "EC2 Auto Scaling" must be StartInstanceRefresh on the
// group with the preferences the docs promise; without the permission the deploy must fail.
// Not run: CloudFormation deciding to send the Update (a changed property value), and the refresh.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AwsApi, startAwsApi } from "./rehearsal/aws-api.js";
import type { Statement } from "./rehearsal/iam.js";
import { type CfnTemplate, resourcesOf, synth } from "./synth.js";
import { bootstrapArgs, policiesOfRole, resolveValue, type Token } from "./template.js";

const HOST = fileURLToPath(new URL("./refresh-provider-host.cjs", import.meta.url));
const REGION = "eu-west-3";
const ACCOUNT = "123456789012";
const KEY = "ASIAREFRESHPROVIDER";
const STACK = "rtcgw-refresh";

let t: CfnTemplate;
const apis: AwsApi[] = [];

beforeAll(() => {
  t = synth({}, { stackName: STACK }).json;
}, 240_000);

afterAll(async () => {
  for (const a of apis) await a.close();
});

const resolve = (tok: Token): string => {
  if ("Ref" in tok) {
    const ref = tok.Ref as string;
    const known: Record<string, string> = {
      "AWS::Region": REGION,
      "AWS::AccountId": ACCOUNT,
      "AWS::Partition": "aws",
      "AWS::StackName": STACK,
    };
    // an alarm's Ref is its name
    return known[ref] ?? (ref.startsWith("NoNodeAccepting") ? `${STACK}-${ref}` : ref);
  }
  if ("Fn::GetAtt" in tok) {
    const [id, attr] = tok["Fn::GetAtt"] as [string, string];
    return `arn:aws:rehearsal:${REGION}:${ACCOUNT}:${id}/${attr}`;
  }
  return resolveValue(tok, resolve);
};

function refreshResource() {
  const [[id, r]] = resourcesOf(t, "Custom::AWS").filter(([, x]) =>
    JSON.stringify(x.Properties.Update).includes("startInstanceRefresh"),
  );
  return { id: id!, r: r! };
}

/** the provider function's role's statements, resolved (the policy CDK attaches to it) */
function providerStatements(): Statement[] {
  const { r } = refreshResource();
  const fnId = (r.Properties.ServiceToken as { "Fn::GetAtt": [string] })["Fn::GetAtt"][0];
  const roleId = (t.Resources[fnId]!.Properties.Role as { "Fn::GetAtt": [string] })["Fn::GetAtt"][0];
  return policiesOfRole(t, roleId).statements.map((st) => ({
    actions: st.actions,
    resources: st.resources.map((x) => resolveValue(x, resolve)),
  }));
}

async function runUpdate(statements: Statement[]) {
  const api = await startAwsApi({
    principals: { [KEY]: "refresh-provider" },
    policies: { "refresh-provider": statements },
    dynamodb: "http://127.0.0.1:1",
    s3: "http://127.0.0.1:1",
    secrets: {},
    account: ACCOUNT,
    groupArn: (name) =>
      `arn:aws:autoscaling:${REGION}:${ACCOUNT}:autoScalingGroup:0000-refresh:autoScalingGroupName/${name}`,
  });
  apis.push(api);
  const { id, r } = refreshResource();
  const props = Object.fromEntries(
    Object.entries(r.Properties as Record<string, unknown>).map(([k, v]) => [
      k,
      // (CloudFormation hands a custom resource every property as a string)
      v !== null && typeof v === "object" ? resolveValue(v, resolve) : String(v),
    ]),
  );
  const event = {
    RequestType: "Update",
    ServiceToken: props.ServiceToken,
    ResponseURL: "https://cloudformation-custom-resource-response-euwest3.s3.amazonaws.com/response",
    StackId: `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/${STACK}/0000`,
    RequestId: "refresh-test",
    LogicalResourceId: id,
    PhysicalResourceId: `${bootstrapArgs(t)["--asg-name"]}-instance-refresh`,
    ResourceType: "Custom::AWS",
    // a new launch template version: the only property that changed
    ResourceProperties: { ...props, LaunchTemplateVersion: "3" },
    OldResourceProperties: { ...props, LaunchTemplateVersion: "2" },
  };
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("AWS_")) env[k] = v;
  Object.assign(env, {
    // what Lambda gives the provider function
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: KEY,
    AWS_SECRET_ACCESS_KEY: "refresh-test",
    AWS_SESSION_TOKEN: "refresh-test",
    AWS_ENDPOINT_URL_AUTO_SCALING: api.endpoint,
  });
  const child = spawn(process.execPath, [HOST, JSON.stringify(event)], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (err += d));
  const code = await new Promise<number | null>((r2) => child.on("exit", r2));
  const line = out.split("\n").find((l) => l.startsWith("CFN-RESPONSE "));
  if (!line) throw new Error(`the provider sent CloudFormation no response (exit ${code}): ${err}\n${out}`);
  return { api, response: JSON.parse(line.slice("CFN-RESPONSE ".length)), out };
}

describe("the instance refresh custom resource, through CDK's provider handler", () => {
  it("an Update (new launch template version) calls StartInstanceRefresh on the group with the documented preferences, allowed by the provider role's policy", async () => {
    const { api, response, out } = await runUpdate(providerStatements());
    const calls = api.calls.filter((c) => c.action === "autoscaling:StartInstanceRefresh");
    expect(calls.length, out).toBe(1);
    const c = calls[0]!;
    expect(c.principal).toBe("refresh-provider");
    expect(c.allowed).toBe(true);
    expect(c.region).toBe(REGION);
    expect(c.params).toMatchObject({
      AutoScalingGroupName: `${STACK}-media`,
      Strategy: "Rolling",
      "Preferences.MinHealthyPercentage": "100",
      "Preferences.MaxHealthyPercentage": "200",
      "Preferences.InstanceWarmup": "60",
      "Preferences.SkipMatching": "true",
      "Preferences.ScaleInProtectedInstances": "Wait",
      "Preferences.StandbyInstances": "Wait",
      "Preferences.AlarmSpecification.Alarms.member.1": expect.stringMatching(
        new RegExp(`^${STACK}-NoNodeAccepting`),
      ),
    });
    // the only call it made; CloudFormation hears SUCCESS with the stable physical id
    expect(api.calls.length).toBe(1);
    expect(response.method).toBe("PUT");
    expect(response.body).toMatchObject({
      Status: "SUCCESS",
      PhysicalResourceId: `${STACK}-media-instance-refresh`,
      LogicalResourceId: refreshResource().id,
    });
  }, 60_000);

  it("without autoscaling:StartInstanceRefresh in the role, the call is denied and CloudFormation hears FAILED (the deploy fails, it does not silently skip the refresh)", async () => {
    const { api, response } = await runUpdate(
      providerStatements().map((st) => ({
        ...st,
        actions: st.actions.filter((a) => a !== "autoscaling:StartInstanceRefresh"),
      })),
    );
    expect(api.calls.some((c) => c.action === "autoscaling:StartInstanceRefresh" && !c.allowed)).toBe(true);
    expect(response.body.Status).toBe("FAILED");
    expect(response.body.Reason).toMatch(/not authorized to perform autoscaling:StartInstanceRefresh/);
  }, 60_000);
});
