// The CDK stack synthesises, and what it deploys matches what runs locally: every route of the
// shared table, the registry table's key schema and TTL, the media node's UDP port.
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { App } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { GatewayStack } from "../../infra/lib/gateway-stack.js";
import { gatewayStackProps } from "../../infra/lib/props.js";
import { REGISTRY_TABLE_SCHEMA } from "../../src/registry/dynamodb-table.js";
import { HANDLER_NAMES, ROUTES } from "../../src/signaling/routes.js";

let template: Template;

beforeAll(() => {
  // synth against stand-in bundles so the test does not depend on `npm run build` having run
  const root = mkdtempSync(path.join(tmpdir(), "rtcgw-infra-"));
  for (const h of HANDLER_NAMES) {
    mkdirSync(path.join(root, "dist/functions", h), { recursive: true });
    writeFileSync(
      path.join(root, "dist/functions", h, "index.mjs"),
      "export const handler = async () => ({});\n",
    );
  }
  const app = new App({ outdir: mkdtempSync(path.join(tmpdir(), "rtcgw-cdk-out-")) });
  const stack = new GatewayStack(app, "rtcgw-test", { ...gatewayStackProps(root), sourceDir: root });
  template = Template.fromStack(stack);
}, 120_000);

describe("GatewayStack", () => {
  it("creates one API Gateway route per entry of the shared route table", () => {
    const routes = template.findResources("AWS::ApiGatewayV2::Route");
    const keys = Object.values(routes).map(
      (r) => (r as { Properties: { RouteKey: string } }).Properties.RouteKey,
    );
    expect(keys.sort()).toEqual(ROUTES.map((r) => `${r.method} ${r.path}`).sort());
  });

  it("routes every other method on each resource (ANY) to the options function, which answers 405", () => {
    const routes = Object.values(template.findResources("AWS::ApiGatewayV2::Route")) as {
      Properties: { RouteKey: string; Target: unknown };
    }[];
    const integrations = template.findResources("AWS::ApiGatewayV2::Integration");
    const fnOf = (target: unknown) => {
      // Target: "integrations/<IntegrationRef>" → the integration's IntegrationUri names the function
      const ref = JSON.stringify(target).match(/"Ref":"([^"]+)"/)![1]!;
      return JSON.stringify(integrations[ref]!.Properties.IntegrationUri).match(
        /"(Fnoptions[0-9A-F]*)"/,
      )?.[1];
    };
    for (const path of ["/v1/whip", "/v1/sessions", "/v1/sessions/{id}", "/v1/whep/{id}", "/v1/health"]) {
      const any = routes.find((r) => r.Properties.RouteKey === `ANY ${path}`);
      expect(any, `ANY ${path}`).toBeDefined();
      expect(fnOf(any!.Properties.Target), `ANY ${path}`).toMatch(/^Fnoptions/);
    }
    // nothing catches paths below a resource (a future /v1/sessions/{id}/resume stays free)
    expect(routes.some((r) => /\{proxy\+\}|\$default/.test(r.Properties.RouteKey))).toBe(false);
  });

  it("creates one Node 22 function per handler bundle", () => {
    template.resourceCountIs("AWS::Lambda::Function", HANDLER_NAMES.length);
    template.hasResourceProperties("AWS::Lambda::Function", {
      Runtime: "nodejs22.x",
      Handler: "index.handler",
    });
  });

  it("mirrors the DynamoDB store's key schema, index and TTL attribute", () => {
    const s = REGISTRY_TABLE_SCHEMA;
    template.hasResourceProperties("AWS::DynamoDB::Table", {
      KeySchema: [
        { AttributeName: s.partitionKey, KeyType: "HASH" },
        { AttributeName: s.sortKey, KeyType: "RANGE" },
      ],
      TimeToLiveSpecification: { AttributeName: s.ttlAttribute, Enabled: true },
      GlobalSecondaryIndexes: [Match.objectLike({ IndexName: s.byNodeIndex.name })],
    });
  });

  it("opens the media node's one UDP port to the world and its control port to the functions only", () => {
    template.hasResourceProperties("AWS::EC2::SecurityGroup", {
      SecurityGroupIngress: [
        Match.objectLike({ IpProtocol: "udp", FromPort: 40000, ToPort: 40000, CidrIp: "0.0.0.0/0" }),
      ],
    });
    template.hasResourceProperties("AWS::EC2::SecurityGroupIngress", {
      IpProtocol: "tcp",
      FromPort: 9090,
      ToPort: 9090,
      SourceSecurityGroupId: Match.anyValue(),
    });
  });

  it("points the functions at the DynamoDB registry", () => {
    template.hasResourceProperties("AWS::Lambda::Function", {
      Environment: { Variables: Match.objectLike({ RTCGW_REGISTRY: Match.anyValue() }) },
    });
  });
});
