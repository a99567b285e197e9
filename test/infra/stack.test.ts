// The CDK stack synthesises, and each defect issue 16 found in the first template is pinned here so
// it cannot return: the node's region, every worker's ports, capacity per worker, the AMI pinned,
// the creation/update signal, the artifact's contents (tracked files only), the permissions of each
// function, IMDSv2. (The deploy rehearsal, rehearsal.test.ts, runs what the template gives.)
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { Match } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { buildSourceArtifact } from "../../infra/lib/artifact.js";
import { FUNCTION_SECRETS, FUNCTION_TABLE_ACTIONS } from "../../infra/lib/permissions.js";
import { REGISTRY_TABLE_SCHEMA } from "../../src/registry/dynamodb-table.js";
import { DEFAULT_CONTROL_TIMEOUT_MS, OFFER_BUDGET_MS } from "../../src/signaling/deps.js";
import { HANDLER_NAMES, ROUTES } from "../../src/signaling/routes.js";
import { ROOT, resourcesOf, type Synth, synth } from "./synth.js";
import { bootstrapArgs, functionLogicalId, functionRole, functionRoleActions, roleOf } from "./template.js";

let s: Synth;
let big: Synth;

beforeAll(() => {
  s = synth();
  // a 4-vCPU type, a pinned AMI, other ports and sizes: what the props say must reach the template
  big = synth({
    RTCGW_NODE_INSTANCE_TYPE: "c7g.xlarge",
    RTCGW_NODE_AMI: "ami-0123456789abcdef0",
    MEDIA_UDP_PORT: "41000",
    NODE_PORT: "9100",
    RTCGW_NODE_SESSIONS_PER_WORKER: "120",
    RTCGW_NODES_MIN: "2",
    RTCGW_NODES_DESIRED: "3",
    RTCGW_NODES_MAX: "7",
  });
}, 240_000);

describe("GatewayStack: API, table, functions", () => {
  it("creates one API Gateway route per entry of the shared route table", () => {
    const keys = resourcesOf(s.json, "AWS::ApiGatewayV2::Route").map(([, r]) => r.Properties.RouteKey);
    expect(keys.sort()).toEqual(ROUTES.map((r) => `${r.method} ${r.path}`).sort());
  });

  it("routes every other method on each resource (ANY) to the options function, which answers 405", () => {
    const routes = resourcesOf(s.json, "AWS::ApiGatewayV2::Route").map(([, r]) => r) as {
      Properties: { RouteKey: string; Target: unknown };
    }[];
    const integrations = Object.fromEntries(resourcesOf(s.json, "AWS::ApiGatewayV2::Integration"));
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

  it("creates one Node 22 function per handler bundle (and CDK's provider for the instance refresh)", () => {
    const fns = resourcesOf(s.json, "AWS::Lambda::Function").map(([id]) => id);
    expect(fns.filter((id) => /^Fn[a-z]+[0-9A-F]{8}$/.test(id)).length).toBe(HANDLER_NAMES.length);
    // the only other function: AwsCustomResource's singleton provider (instance-refresh.ts)
    expect(fns.filter((id) => !/^Fn[a-z]+[0-9A-F]{8}$/.test(id))).toEqual([
      expect.stringMatching(/^AWS679f53fac002430cb0da5b7982bd2287/),
    ]);
    s.template.hasResourceProperties("AWS::Lambda::Function", {
      Runtime: "nodejs22.x",
      Handler: "index.handler",
    });
  });

  it("lets a function that takes offers run out its failover budget, and answer before API Gateway's 30 s", () => {
    // an offer tries up to 3 nodes while a control timeout still fits in OFFER_BUDGET_MS (15 s);
    // a function killed by its own timeout first answers nobody but the gateway's 500 — the
    // client token is not given back, the failed tries' records are not undone
    const timeoutOf = (h: string) =>
      resourcesOf(s.json, "AWS::Lambda::Function").find(([id]) => id.startsWith(`Fn${h}`))![1].Properties
        .Timeout as number;
    for (const h of ["whip", "sessions", "whep"]) {
      expect(timeoutOf(h) * 1000, h).toBeGreaterThanOrEqual(OFFER_BUDGET_MS + DEFAULT_CONTROL_TIMEOUT_MS);
      expect(timeoutOf(h), h).toBeLessThan(30);
    }
  });

  it("mirrors the DynamoDB store's key schema, index and TTL attribute", () => {
    const t = REGISTRY_TABLE_SCHEMA;
    s.template.hasResourceProperties("AWS::DynamoDB::Table", {
      KeySchema: [
        { AttributeName: t.partitionKey, KeyType: "HASH" },
        { AttributeName: t.sortKey, KeyType: "RANGE" },
      ],
      TimeToLiveSpecification: { AttributeName: t.ttlAttribute, Enabled: true },
      GlobalSecondaryIndexes: [Match.objectLike({ IndexName: t.byNodeIndex.name })],
    });
  });

  it("gives each function only the table actions its routes use: options none, health no write", () => {
    for (const h of HANDLER_NAMES) {
      const got = functionRoleActions(s.json, h).filter((a) => a.startsWith("dynamodb:"));
      expect(got.sort(), h).toEqual([...FUNCTION_TABLE_ACTIONS[h]].sort());
    }
    const writes = /^dynamodb:(Put|Update|Delete|BatchWrite)/;
    expect(functionRoleActions(s.json, "options")).toEqual([]);
    expect(functionRoleActions(s.json, "health").filter((a) => writes.test(a))).toEqual([]);
  });

  it("puts no secret in a function's environment: the ARN, read at run time", () => {
    for (const [, fn] of resourcesOf(s.json, "AWS::Lambda::Function")) {
      const vars = fn.Properties.Environment?.Variables ?? {};
      for (const name of ["RTCGW_NODE_SECRET", "RTCGW_API_TOKEN", "RTCGW_TOKEN_SECRET", "RTCGW_TURN_SECRET"])
        expect(Object.keys(vars)).not.toContain(name);
      expect(JSON.stringify(vars)).not.toMatch(/resolve:secretsmanager/);
    }
    s.template.hasResourceProperties("AWS::Lambda::Function", {
      Environment: {
        Variables: Match.objectLike({
          RTCGW_NODE_SECRET_ARN: Match.anyValue(),
          RTCGW_REGISTRY: Match.anyValue(),
        }),
      },
    });
  });

  it("closes the API: generated API token and token secret, each function given (by ARN) and allowed to read only the secrets it uses", () => {
    const secretIds = resourcesOf(s.json, "AWS::SecretsManager::Secret").map(([id]) => id);
    const idOf = (prefix: string) => secretIds.find((id) => id.startsWith(prefix))!;
    const ids = {
      node: idOf("NodeSecret"),
      apiToken: idOf("ApiToken"),
      tokenSecret: idOf("TokenSecret"),
      turn: idOf("TurnSecret"),
    };
    for (const id of Object.values(ids)) {
      expect(id).toBeDefined();
      expect(s.json.Resources[id]!.Properties.GenerateSecretString).toBeDefined();
    }
    const arnVar = {
      node: "RTCGW_NODE_SECRET_ARN",
      apiToken: "RTCGW_API_TOKEN_ARN",
      tokenSecret: "RTCGW_TOKEN_SECRET_ARN",
      turn: "RTCGW_TURN_SECRET_ARN",
    } as const;
    expect(FUNCTION_SECRETS.whip).toEqual(
      expect.arrayContaining(["apiToken", "tokenSecret", "turn", "node"]),
    );
    expect(FUNCTION_SECRETS.sessions).toEqual(
      expect.arrayContaining(["apiToken", "tokenSecret", "turn", "node"]),
    );
    for (const h of HANDLER_NAMES) {
      const vars = s.json.Resources[functionLogicalId(s.json, h)]!.Properties.Environment?.Variables ?? {};
      const readable = functionRole(s.json, h)
        .statements.filter((st) => st.actions.includes("secretsmanager:GetSecretValue"))
        .flatMap((st) => st.resources.map((r) => JSON.stringify(r)));
      for (const [k, id] of Object.entries(ids) as [keyof typeof ids, string][]) {
        const uses = FUNCTION_SECRETS[h].includes(k);
        expect(vars[arnVar[k]], `${h} ${arnVar[k]}`).toEqual(uses ? { Ref: id } : undefined);
        expect(
          readable.some((r) => r.includes(`"${id}"`)),
          `${h} may read ${id}`,
        ).toBe(uses);
      }
    }
    // the backend finds them by the stack's outputs (names, never values)
    const outputs = (s.json as { Outputs?: Record<string, { Value: unknown }> }).Outputs ?? {};
    expect(outputs.ApiTokenSecret?.Value).toEqual({ Ref: ids.apiToken });
    expect(outputs.TokenSecretSecret?.Value).toEqual({ Ref: ids.tokenSecret });
  });

  it("keeps the recordings in an encrypted bucket with the props' lifecycle", () => {
    const t = synth({ RTCGW_RECORDINGS_EXPIRE_DAYS: "9" });
    t.template.hasResourceProperties("AWS::S3::Bucket", {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } }],
      },
      LifecycleConfiguration: {
        Rules: [
          Match.objectLike({
            ExpirationInDays: 9,
            AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
          }),
        ],
      },
      PublicAccessBlockConfiguration: Match.objectLike({
        BlockPublicAcls: true,
        RestrictPublicBuckets: true,
      }),
    });
  }, 120_000);

  it("alarms when no node accepts and on the API's 5xx rate", () => {
    s.template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      MetricName: "AcceptingWorkers",
      ComparisonOperator: "LessThanThreshold",
      Threshold: 1,
      TreatMissingData: "breaching",
    });
    s.template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      Metrics: Match.arrayWith([Match.objectLike({ Expression: "IF(count > 0, 100 * errors / count, 0)" })]),
      Threshold: 5,
    });
  });
});

describe("GatewayStack: media nodes", () => {
  it("passes the region to the bootstrap (which writes AWS_REGION into the node's env)", () => {
    expect(bootstrapArgs(s.json)["--region"]).toEqual({ Ref: "AWS::Region" });
  });

  it("opens every worker's UDP port to the world and every control port to the functions only", () => {
    // c7g.xlarge: 4 vCPUs → 4 workers → UDP 41000-41003, control 9100-9103
    const [[, sg]] = resourcesOf(big.json, "AWS::EC2::SecurityGroup").filter(([id]) =>
      id.startsWith("MediaNodesSg"),
    );
    expect(sg.Properties.SecurityGroupIngress).toContainEqual(
      expect.objectContaining({ IpProtocol: "udp", FromPort: 41000, ToPort: 41003, CidrIp: "0.0.0.0/0" }),
    );
    const control = resourcesOf(big.json, "AWS::EC2::SecurityGroupIngress").map(([, r]) => r.Properties);
    expect(control).toContainEqual(
      expect.objectContaining({
        IpProtocol: "tcp",
        FromPort: 9100,
        ToPort: 9103,
        SourceSecurityGroupId: { "Fn::GetAtt": [expect.stringMatching(/^FunctionsSg/), "GroupId"] },
      }),
    );
    // nothing else reaches a control port
    const open = [...(sg.Properties.SecurityGroupIngress ?? []), ...control];
    for (const r of open)
      if (r.IpProtocol === "tcp" && r.FromPort <= 9103 && r.ToPort >= 9100)
        expect(r.SourceSecurityGroupId).toBeDefined();
    expect(bootstrapArgs(big.json)["--workers"]).toBe("4");
    expect(bootstrapArgs(big.json)["--udp-port"]).toBe("41000");
    expect(bootstrapArgs(big.json)["--control-port"]).toBe("9100");
  });

  it("sets the capacity per worker, not per instance", () => {
    expect(bootstrapArgs(big.json)["--capacity"]).toBe("120");
    // the scaling target is per instance: workers × capacity × target utilisation
    big.template.hasResourceProperties("AWS::AutoScaling::ScalingPolicy", {
      PolicyType: "TargetTrackingScaling",
      TargetTrackingConfiguration: Match.objectLike({
        TargetValue: Math.floor(4 * 120 * 0.6),
        CustomizedMetricSpecification: Match.objectLike({
          MetricName: "SessionsPerInstance",
          Statistic: "Average",
        }),
      }),
    });
  });

  it("pins the AMI: the props' id, or a deploy parameter kept across deploys — never a lookup per deploy", () => {
    big.template.hasResourceProperties("AWS::EC2::LaunchTemplate", {
      LaunchTemplateData: Match.objectLike({ ImageId: "ami-0123456789abcdef0" }),
    });
    s.template.hasResourceProperties("AWS::EC2::LaunchTemplate", {
      LaunchTemplateData: Match.objectLike({ ImageId: { Ref: "MediaNodeAmiId" } }),
    });
    expect(s.json.Parameters?.MediaNodeAmiId?.Type).toBe("AWS::EC2::Image::Id");
    // no AMI resolved from SSM at each deploy (the only SSM parameter is CDK's bootstrap version)
    for (const t of [s.json, big.json])
      for (const [name, p] of Object.entries(t.Parameters ?? {}))
        if (String(p.Type).includes("SSM::Parameter")) expect(name).toBe("BootstrapVersion");
  });

  it("waits for every instance's signal on create, and the bootstrap signals the group; no CloudFormation rolling update", () => {
    const [[asgId, asg]] = resourcesOf(big.json, "AWS::AutoScaling::AutoScalingGroup");
    expect(asg.CreationPolicy.ResourceSignal).toEqual({ Count: 3, Timeout: "PT15M" });
    // updates are an instance refresh (below), never CloudFormation replacing instances itself
    expect(asg.UpdatePolicy?.AutoScalingRollingUpdate).toBeUndefined();
    expect(asg.UpdatePolicy?.AutoScalingReplacingUpdate).toBeUndefined();
    expect(asg.Properties).toMatchObject({ MinSize: "2", DesiredCapacity: "3", MaxSize: "7" });
    expect(asg.Properties.VPCZoneIdentifier.length).toBeGreaterThanOrEqual(2);
    expect(bootstrapArgs(big.json)["--resource"]).toBe(asgId);
    // by default no desired capacity: a deploy must not reset a group the policy scaled out
    const [[, plain]] = resourcesOf(s.json, "AWS::AutoScaling::AutoScalingGroup");
    expect(plain.Properties.DesiredCapacity).toBeUndefined();
    expect(plain.CreationPolicy.ResourceSignal.Count).toBe(Number(plain.Properties.MinSize));
  });

  it("holds each new instance out of service until its bootstrap completes the launch hook (ABANDON otherwise), on the group from its creation", () => {
    const [[, asg]] = resourcesOf(s.json, "AWS::AutoScaling::AutoScalingGroup");
    // on the group itself: a separate hook resource would miss the instances of the creation
    expect(asg.Properties.LifecycleHookSpecificationList).toEqual([
      {
        LifecycleHookName: bootstrapArgs(s.json)["--launch-hook"],
        LifecycleTransition: "autoscaling:EC2_INSTANCE_LAUNCHING",
        DefaultResult: "ABANDON",
        HeartbeatTimeout: 900,
      },
    ]);
    const script = readFileSync(path.join(ROOT, "infra/node/bootstrap.sh"), "utf8");
    // CONTINUE only after the health wait, ABANDON on any failure
    expect(script).toMatch(/did not come up[\s\S]*launch_action CONTINUE\ntrap - ERR\nsignal 0/);
    expect(script).toMatch(/failed\(\) \{[\s\S]*launch_action ABANDON[\s\S]*signal 1/);
    expect(script).toMatch(
      /complete-lifecycle-action --region "\$REGION" --auto-scaling-group-name "\$ASG_NAME"\s*\\\n\s*--lifecycle-hook-name "\$LAUNCH_HOOK" --instance-id "\$INSTANCE_ID"/,
    );
    expect(roleOf(s.json, /^MediaNodesRole/).actions).toContain("autoscaling:CompleteLifecycleAction");
  });

  it("rolls updates through the group by instance refresh: started on each new launch template version, launch before terminate, after the drain hook exists", () => {
    const [[asgId, asg]] = resourcesOf(s.json, "AWS::AutoScaling::AutoScalingGroup");
    const refreshes = resourcesOf(s.json, "Custom::AWS").filter(([, r]) =>
      JSON.stringify(r.Properties.Update).includes("startInstanceRefresh"),
    );
    expect(refreshes.length).toBe(1);
    const [[refreshId, refresh]] = refreshes;
    // the trigger: the launch template version the group runs is a property of the resource, so
    // every new version (artifact, bootstrap, AMI, setting) is an update, and an update starts it
    expect(refresh.Properties.LaunchTemplateVersion).toEqual(asg.Properties.LaunchTemplate.Version);
    expect(refresh.Properties.LaunchTemplateVersion["Fn::GetAtt"][1]).toBe("LatestVersionNumber");
    const alarmId = resourcesOf(s.json, "AWS::CloudWatch::Alarm").find(([id]) =>
      id.startsWith("NoNodeAccepting"),
    )![0];
    for (const when of ["Create", "Update"]) {
      const join = refresh.Properties[when]["Fn::Join"][1] as unknown[];
      const call = JSON.parse(
        join.map((p) => (typeof p === "string" ? p : `ALARM:${(p as { Ref: string }).Ref}`)).join(""),
      );
      expect(call).toMatchObject({
        service: "AutoScaling",
        action: "startInstanceRefresh",
        parameters: {
          AutoScalingGroupName: bootstrapArgs(s.json)["--asg-name"],
          Strategy: "Rolling",
          Preferences: {
            MinHealthyPercentage: 100,
            MaxHealthyPercentage: 200,
            SkipMatching: true,
            AlarmSpecification: { Alarms: [`ALARM:${alarmId}`] },
          },
        },
      });
    }
    // after the group (its new version) and the drain hook; no SDK installed at deploy time
    const drainId = resourcesOf(s.json, "AWS::AutoScaling::LifecycleHook")[0]![0];
    expect(refresh.DependsOn).toEqual(expect.arrayContaining([asgId, drainId]));
    expect(refresh.Properties.InstallLatestAwsSdk).toBe(false);
    // least privilege: the provider may start a refresh of this group, nothing else
    const policies = resourcesOf(s.json, "AWS::IAM::Policy").filter(([id]) =>
      id.startsWith(refreshId.replace(/[0-9A-F]{8}$/, "")),
    );
    expect(policies.length).toBe(1);
    const statements = policies[0]![1].Properties.PolicyDocument.Statement;
    expect(statements).toEqual([
      expect.objectContaining({ Action: "autoscaling:StartInstanceRefresh", Effect: "Allow" }),
    ]);
    expect(JSON.stringify(statements[0].Resource)).toContain(
      `:autoScalingGroup:*:autoScalingGroupName/${bootstrapArgs(s.json)["--asg-name"]}`,
    );
  });

  it("drains on termination: a lifecycle hook the node's role may complete", () => {
    const [[, hook]] = resourcesOf(s.json, "AWS::AutoScaling::LifecycleHook");
    expect(hook.Properties).toMatchObject({
      LifecycleTransition: "autoscaling:EC2_INSTANCE_TERMINATING",
      DefaultResult: "CONTINUE",
      LifecycleHookName: bootstrapArgs(s.json)["--lifecycle-hook"],
    });
    expect(hook.Properties.HeartbeatTimeout).toBeGreaterThan(
      Number(bootstrapArgs(s.json)["--drain-timeout"]),
    );
    const role = roleOf(s.json, /^MediaNodesRole/);
    expect(role.actions).toEqual(
      expect.arrayContaining(["autoscaling:CompleteLifecycleAction", "cloudwatch:PutMetricData"]),
    );
  });

  it("lets the node's agent mark its instance unhealthy (SetInstanceHealth) on its own group only", () => {
    const role = roleOf(s.json, /^MediaNodesRole/);
    const st = role.statements.filter((x) => x.actions.includes("autoscaling:SetInstanceHealth"));
    expect(st).toHaveLength(1);
    expect(st[0]!.resources).toHaveLength(1);
    expect(JSON.stringify(st[0]!.resources[0])).toContain(
      `:autoScalingGroup:*:autoScalingGroupName/${bootstrapArgs(s.json)["--asg-name"]}`,
    );
    expect(JSON.stringify(st[0]!.resources)).not.toMatch(/"\*"/);
  });

  it("gives the node's CloudWatch agent its own log groups and nothing wider (no CloudWatchAgentServerPolicy)", () => {
    const [roleId, role] = resourcesOf(s.json, "AWS::IAM::Role").find(([id]) => /^MediaNodesRole/.test(id))!;
    const managed = JSON.stringify(role.Properties.ManagedPolicyArns);
    expect(managed).toContain("AmazonSSMManagedInstanceCore");
    expect(managed).not.toContain("CloudWatchAgent");
    const p = roleOf(s.json, /^MediaNodesRole/);
    expect(p.roleId).toBe(roleId);
    // writing logs: only into the stack's four groups, each by its own ARN
    const writes = p.statements.filter((x) => x.actions.includes("logs:PutLogEvents"));
    expect(writes).toHaveLength(4);
    for (const w of writes) {
      expect(w.actions.sort()).toEqual([
        "logs:CreateLogStream",
        "logs:DescribeLogStreams",
        "logs:PutLogEvents",
      ]);
      expect(w.resources).toHaveLength(1);
      expect(JSON.stringify(w.resources)).not.toMatch(/"\*"/);
      expect(JSON.stringify(w.resources)).toMatch(/"Fn::GetAtt":\["MediaNodesLogs/);
    }
    // never a log group of its own making, nor anything outside logs, metrics, tags and its group
    expect(p.actions).not.toContain("logs:CreateLogGroup");
    expect(p.actions.filter((a) => /^(xray|ssm):/.test(a))).toEqual([]);
    // the actions without resource-level permissions, and the metric namespaces it may write
    expect(p.actions).toEqual(expect.arrayContaining(["logs:DescribeLogGroups", "ec2:DescribeTags"]));
    const metrics = p.statements.find((x) => x.actions.includes("cloudwatch:PutMetricData"))!;
    expect(JSON.stringify(metrics.condition)).toContain("rtcgw/host");
  });

  it("ships the node's logs into log groups the stack owns, each with a retention (the agent would create them to keep forever)", () => {
    const bootstrap = readFileSync(path.join(ROOT, "infra/node/bootstrap.sh"), "utf8");
    const names = [...bootstrap.matchAll(/"log_group_name": "\/rtcgw\/\$STACK\/([a-z]+)"/g)].map(
      (m) => m[1]!,
    );
    expect(names.sort()).toEqual(["agent", "node", "prometheus", "turn"]);
    const groups = resourcesOf(s.json, "AWS::Logs::LogGroup").map(([, r]) => r.Properties);
    for (const n of names) {
      const g = groups.find((p) => p.LogGroupName === `/rtcgw/${s.stackName}/${n}`);
      expect(g, n).toBeDefined();
      expect(g.RetentionInDays, n).toBeGreaterThan(0);
    }
    // the instances start (and their agent writes) only once the groups exist
    const [, asg] = resourcesOf(s.json, "AWS::AutoScaling::AutoScalingGroup")[0]!;
    const logIds = resourcesOf(s.json, "AWS::Logs::LogGroup")
      .filter(([, r]) => String(r.Properties.LogGroupName).startsWith(`/rtcgw/${s.stackName}/`))
      .map(([id]) => id);
    expect(asg.DependsOn).toEqual(expect.arrayContaining(logIds));
  });

  it("throttles every route of the API (200/s, burst 400 by default; RTCGW_API_RATE / RTCGW_API_BURST)", () => {
    const [[, stage]] = resourcesOf(s.json, "AWS::ApiGatewayV2::Stage");
    expect(stage.Properties.DefaultRouteSettings).toEqual({
      ThrottlingRateLimit: 200,
      ThrottlingBurstLimit: 400,
    });
    const own = synth({ RTCGW_API_RATE: "50", RTCGW_API_BURST: "80" }, { stackName: "rtcgw-throttle" });
    const [[, stage2]] = resourcesOf(own.json, "AWS::ApiGatewayV2::Stage");
    expect(stage2.Properties.DefaultRouteSettings).toEqual({
      ThrottlingRateLimit: 50,
      ThrottlingBurstLimit: 80,
    });
    expect(() => synth({ RTCGW_API_RATE: "-3" }, { stackName: "rtcgw-throttle-bad" })).toThrow(
      /RTCGW_API_RATE must be a positive whole number/,
    );
  });

  it("every Lambda function of the stack (the signaling's and the instance refresh's provider) logs into a log group the stack owns, with a retention", () => {
    const groups = new Map(resourcesOf(s.json, "AWS::Logs::LogGroup"));
    const fns = resourcesOf(s.json, "AWS::Lambda::Function");
    expect(fns.length).toBeGreaterThan(5);
    for (const [id, fn] of fns) {
      const ref = fn.Properties.LoggingConfig?.LogGroup?.Ref as string | undefined;
      expect(ref, `${id} logs into a group the stack does not own`).toBeDefined();
      expect(groups.get(ref!)?.Properties.RetentionInDays, id).toBeGreaterThan(0);
    }
  });

  it("keeps restarting the node and its agent: systemd never gives up on a unit that failed fast a few times", () => {
    // systemd's default start limit (5 starts in 10 s) leaves a unit that crashed at start a few
    // times in a row (e.g. the registry unreachable for a moment) failed for good: the instance
    // stays InService by its EC2 checks, takes no call and is never replaced
    const script = readFileSync(path.join(ROOT, "infra/node/bootstrap.sh"), "utf8");
    for (const unit of ["rtcgw-node", "rtcgw-agent"]) {
      const text = new RegExp(`cat >"\\$UNITS/${unit}\\.service" <<UNIT\\n([\\s\\S]*?)\\nUNIT`).exec(
        script,
      )?.[1];
      expect(text, unit).toBeDefined();
      const unitSection = text!.split("[Service]")[0]!;
      expect(unitSection, unit).toMatch(/^StartLimitIntervalSec=0$/m);
      expect(text, unit).toMatch(/^Restart=(on-failure|always)$/m);
    }
  });

  it("requires IMDSv2", () => {
    s.template.hasResourceProperties("AWS::EC2::LaunchTemplate", {
      LaunchTemplateData: Match.objectLike({ MetadataOptions: Match.objectLike({ HttpTokens: "required" }) }),
    });
  });

  it("opens TURN beside each node: 3478 UDP/TCP (443 only with a TLS certificate), the TURN secret's ARN", () => {
    const [[, sg]] = resourcesOf(s.json, "AWS::EC2::SecurityGroup").filter(([id]) =>
      id.startsWith("MediaNodesSg"),
    );
    const rules = sg.Properties.SecurityGroupIngress.map(
      (r: { IpProtocol: string; FromPort: number }) => `${r.IpProtocol}/${r.FromPort}`,
    );
    expect(rules).toEqual(expect.arrayContaining(["udp/3478", "tcp/3478"]));
    expect(rules).not.toContain("tcp/443");
    expect(bootstrapArgs(s.json)["--turn-secret-arn"]).toEqual({ Ref: expect.stringMatching(/^TurnSecret/) });
    expect(bootstrapArgs(s.json)["--turn-port"]).toBe("3478");
    expect(bootstrapArgs(s.json)["--turn-tls-cert-arn"]).toBeUndefined();
    // the node role may read it (the bootstrap writes coturn's config from it)
    const node = roleOf(s.json, /^MediaNodesRole/);
    const turnId = resourcesOf(s.json, "AWS::SecretsManager::Secret").find(([id]) =>
      id.startsWith("TurnSecret"),
    )![0];
    expect(
      node.statements.some(
        (st) =>
          st.actions.includes("secretsmanager:GetSecretValue") &&
          JSON.stringify(st.resources).includes(turnId),
      ),
    ).toBe(true);
  });

  it("TURN over TLS with the operator's certificate: 443/tcp open, the secret's ARN and name template to the bootstrap, the node role may read that secret", () => {
    const arn = "arn:aws:secretsmanager:eu-west-3:123456789012:secret:rtcgw-turn-cert-AbCdEf";
    const t = synth({
      RTCGW_NODE_TURN_TLS_CERT_ARN: arn,
      RTCGW_NODE_TURN_TLS_HOST: "{ip-dashed}.turn.example.com",
    });
    const [[, sg]] = resourcesOf(t.json, "AWS::EC2::SecurityGroup").filter(([id]) =>
      id.startsWith("MediaNodesSg"),
    );
    const rules = sg.Properties.SecurityGroupIngress.map(
      (r: { IpProtocol: string; FromPort: number; CidrIp?: string }) =>
        `${r.IpProtocol}/${r.FromPort}/${r.CidrIp}`,
    );
    expect(rules).toContain("tcp/443/0.0.0.0/0");
    const args = bootstrapArgs(t.json);
    expect(args["--turn-tls-cert-arn"]).toBe(arn);
    expect(args["--turn-tls-host"]).toBe("{ip-dashed}.turn.example.com");
    expect(args["--turn-tls-port"]).toBe("443");
    const node = roleOf(t.json, /^MediaNodesRole/);
    expect(
      node.statements.some(
        (st) => st.actions.includes("secretsmanager:GetSecretValue") && st.resources.includes(arn),
      ),
    ).toBe(true);
    // a TLS setting that cannot work is refused at synth, not found out on the instance
    expect(() => synth({ RTCGW_NODE_TURN_TLS_CERT_ARN: arn })).toThrow(/TURN TLS host/);
    expect(() =>
      synth({ RTCGW_NODE_TURN_TLS_CERT_ARN: "/etc/cert.pem", RTCGW_NODE_TURN_TLS_HOST: "turn.example.com" }),
    ).toThrow(/Secrets Manager secret ARN/);
    expect(() =>
      synth({
        RTCGW_NODE_TURN: "off",
        RTCGW_NODE_TURN_TLS_CERT_ARN: arn,
        RTCGW_NODE_TURN_TLS_HOST: "x.example",
      }),
    ).toThrow(/needs TURN/);
  }, 120_000);

  it("RTCGW_NODE_TURN=off: no TURN port open, no TURN parameter (the bootstrap installs no coturn)", () => {
    const t = synth({ RTCGW_NODE_TURN: "off" });
    const [[, sg]] = resourcesOf(t.json, "AWS::EC2::SecurityGroup").filter(([id]) =>
      id.startsWith("MediaNodesSg"),
    );
    const ports = sg.Properties.SecurityGroupIngress.map((r: { FromPort: number }) => r.FromPort);
    expect(ports).not.toContain(3478);
    expect(ports).not.toContain(443);
    expect(bootstrapArgs(t.json)["--turn-secret-arn"]).toBeUndefined();
    expect(() => synth({ RTCGW_NODE_TURN: "no" })).toThrow(/RTCGW_NODE_TURN must be on or off/);
  }, 120_000);

  it("runs coturn as its package's unprivileged user with only the capability to bind 443, its files readable by that user alone", () => {
    const script = readFileSync(path.join(ROOT, "infra/node/bootstrap.sh"), "utf8");
    const unit = /cat >"\$UNITS\/rtcgw-turn\.service" <<UNIT\n([\s\S]*?)\nUNIT/.exec(script)?.[1] ?? "";
    expect(unit).toMatch(/^User=\$TURN_USER$/m);
    expect(unit).toMatch(/^Group=\$TURN_GROUP$/m);
    expect(unit).toMatch(/^AmbientCapabilities=CAP_NET_BIND_SERVICE$/m);
    expect(unit).toMatch(/^CapabilityBoundingSet=CAP_NET_BIND_SERVICE$/m);
    expect(unit).toMatch(/^NoNewPrivileges=true$/m);
    // the package's user: Debian's turnserver, Fedora's coturn
    expect(script).toContain("for u in turnserver coturn; do");
    // config, certificate and key: 0600, owned by that user (before any secret is written)
    expect(script).toMatch(/chmod 0600 "\$TURN_CONF"\n\s*own "\$TURN_CONF"[\s\S]*static-auth-secret/);
    expect(script).toMatch(
      /chmod 0600 "\$TLS_CERT" "\$TLS_KEY"\n\s*own "\$TLS_CERT" "\$TLS_KEY"\n[\s\S]*get-secret-value/,
    );
  });

  it("coturn's source on the node: auto by default (AMI → dnf → the official image), the image pinned by digest — the stack's default the bootstrap's own; a runtime or image from the operator, validated", () => {
    expect(bootstrapArgs(s.json)["--turn-runtime"]).toBe("auto");
    const image = bootstrapArgs(s.json)["--turn-image"] as string;
    expect(image).toMatch(/^coturn\/coturn:[\w.-]+@sha256:[0-9a-f]{64}$/);
    const script = readFileSync(path.join(ROOT, "infra/node/bootstrap.sh"), "utf8");
    expect(script).toMatch(new RegExp(`^TURN_IMAGE=${image.replace(/[.]/g, "\\.")}$`, "m"));
    const t = synth({
      RTCGW_NODE_TURN_RUNTIME: "container",
      RTCGW_NODE_TURN_IMAGE: `registry.example.com/coturn:4.7.0@sha256:${"b".repeat(64)}`,
    });
    expect(bootstrapArgs(t.json)["--turn-runtime"]).toBe("container");
    expect(bootstrapArgs(t.json)["--turn-image"]).toBe(
      `registry.example.com/coturn:4.7.0@sha256:${"b".repeat(64)}`,
    );
    expect(() => synth({ RTCGW_NODE_TURN_IMAGE: "coturn/coturn:4.7.0" })).toThrow(/pinned by digest/);
    expect(() => synth({ RTCGW_NODE_TURN_RUNTIME: "podman" })).toThrow(/TURN runtime must be one of/);
    // the bootstrap refuses the same, and tries the three in order, saying which it chose
    expect(script).toContain("--turn-image must be pinned by digest");
    expect(script).toMatch(
      /command -v turnserver[\s\S]*TURN_FROM=binary[\s\S]*dnf install -y coturn[\s\S]*TURN_FROM=dnf[\s\S]*dnf install -y docker[\s\S]*systemctl enable --now docker\.service\n\s*TURN_FROM=container/,
    );
    expect(script).toContain('log "TURN: coturn from its official container image $TURN_IMAGE');
  }, 120_000);

  it("runs coturn's container under systemd as the same unprivileged user, host network, the same config read-only, every capability dropped but NET_BIND_SERVICE (the image's turnserver holds it as a file capability)", () => {
    const script = readFileSync(path.join(ROOT, "infra/node/bootstrap.sh"), "utf8");
    const units = [...script.matchAll(/cat >"\$UNITS\/rtcgw-turn\.service" <<UNIT\n([\s\S]*?)\nUNIT/g)].map(
      (m) => m[1]!,
    );
    expect(units.length).toBe(2);
    const unit = units.find((u) => u.includes("$DOCKER_BIN run"))!;
    const execStart = /^ExecStart=(.*)$/m.exec(unit)![1]!.split(" ");
    expect(execStart.slice(0, 6)).toEqual([
      "$DOCKER_BIN",
      "run",
      "--rm",
      "--name",
      "rtcgw-turn",
      "--network",
    ]);
    const opt = (name: string) => execStart.flatMap((a, i) => (a === name ? [execStart[i + 1]] : []));
    expect(opt("--network")).toEqual(["host"]);
    expect(opt("--user")).toEqual(["$TURN_IDS"]);
    expect(script).toContain('TURN_IDS=$(id -u "$TURN_USER"):$(id -g "$TURN_USER")');
    expect(opt("--cap-drop")).toEqual(["ALL"]);
    expect(opt("--cap-add")).toEqual(["NET_BIND_SERVICE"]);
    expect(opt("--volume")).toEqual(["$TURN_DIR:$TURN_DIR:ro", "$TURN_STATE:$TURN_STATE:rw"]);
    expect(execStart).not.toContain("--privileged");
    // the image, then turnserver's arguments: the bootstrap's config
    expect(execStart.slice(-4)).toEqual(["$TURN_IMAGE", "-c", "$TURN_CONF", "--log-file=stdout"]);
    expect(unit).toMatch(/^Restart=always$/m);
    expect(unit).toMatch(/^Requires=docker\.service$/m);
    expect(unit).toMatch(/^After=network-online\.target docker\.service$/m);
    expect(unit).toMatch(/^ExecStartPre=-\$DOCKER_BIN rm -f rtcgw-turn$/m);
    // the unit runs the docker client (root); the container is the unprivileged one
    expect(unit).not.toMatch(/^User=/m);
  });

  it("the bootstrap makes each node announce its own TURN server: RTCGW_NODE_TURN_URLS from IMDS's public IP and the TURN port, coturn's config 0600 from the secret", () => {
    const script = readFileSync(path.join(ROOT, "infra/node/bootstrap.sh"), "utf8");
    expect(script).toContain(
      'TURN_URLS="turn:$PUBLIC_IP:$TURN_PORT?transport=udp,turn:$PUBLIC_IP:$TURN_PORT?transport=tcp"',
    );
    expect(script).toContain('echo "RTCGW_NODE_TURN_URLS=$TURN_URLS" >>"$ENV_FILE"');
    expect(script).toMatch(/PUBLIC_IP=\$\(meta public-ipv4\)/);
    expect(script).toMatch(
      /chmod 0600 "\$TURN_CONF"[\s\S]*aws secretsmanager get-secret-value --region "\$REGION" --secret-id "\$TURN_SECRET_ARN"/,
    );
    // with a certificate, the TLS URL too, on the name the certificate is for
    expect(script).toContain('TURN_URLS="$TURN_URLS,turns:$TLS_NAME:$TLS_PORT?transport=tcp"');
    // the node itself never gets the TURN secret (nor its ARN): coturn holds it
    expect(script).not.toMatch(/^RTCGW_TURN_SECRET/m);
    expect(script).not.toMatch(/RTCGW_TURN_SECRET(_ARN)?=.*>>"\$ENV_FILE"/);
    // the port the security group opens is the port the bootstrap configures
    const t = synth({ RTCGW_NODE_TURN_PORT: "3479" });
    expect(bootstrapArgs(t.json)["--turn-port"]).toBe("3479");
    const [[, sg]] = resourcesOf(t.json, "AWS::EC2::SecurityGroup").filter(([id]) =>
      id.startsWith("MediaNodesSg"),
    );
    const rules = sg.Properties.SecurityGroupIngress.map(
      (r: { IpProtocol: string; FromPort: number }) => `${r.IpProtocol}/${r.FromPort}`,
    );
    expect(rules).toEqual(expect.arrayContaining(["udp/3479", "tcp/3479"]));
  }, 120_000);
});

describe("the node's artifact", () => {
  it("holds the tracked files at HEAD only: no untracked .env, no uncommitted edit", () => {
    const repo = mkdtempSync(path.join(tmpdir(), "rtcgw-artifact-"));
    const git = (...a: string[]) => execFileSync("git", ["-C", repo, ...a], { encoding: "utf8" });
    git("init", "-q");
    writeFileSync(path.join(repo, "a.txt"), "committed\n");
    writeFileSync(path.join(repo, ".gitignore"), "recordings/\n");
    git("add", ".");
    git("-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "one");
    writeFileSync(path.join(repo, ".env"), "RTCGW_NODE_SECRET=do-not-ship\n");
    writeFileSync(path.join(repo, "a.txt"), "uncommitted edit\n");
    const a = buildSourceArtifact(repo, path.join(repo, ".out"));
    expect(a.dirty).toBe(true);
    const files = execFileSync("tar", ["-tzf", a.file], { encoding: "utf8" }).trim().split("\n").sort();
    expect(files).toEqual([".gitignore", "a.txt"]);
    expect(execFileSync("tar", ["-xzOf", a.file, "a.txt"], { encoding: "utf8" })).toBe("committed\n");
  });

  it("is what the stack ships: a tarball of this repository's tracked files at HEAD", () => {
    const arg = bootstrapArgs(s.json)["--artifact"] as { "Fn::Sub": string };
    const hash = /\/([0-9a-f]{64})\.gz$/.exec(arg["Fn::Sub"])?.[1];
    expect(hash).toBeDefined();
    const manifest = JSON.parse(readFileSync(path.join(s.outdir, `${s.stackName}.assets.json`), "utf8")) as {
      files: Record<string, { source: { path: string } }>;
    };
    const file = path.join(s.outdir, manifest.files[hash!]!.source.path);
    const shipped = execFileSync("tar", ["-tzf", file], { encoding: "utf8" })
      .trim()
      .split("\n")
      .filter((f) => !f.endsWith("/"))
      .sort();
    const tracked = execFileSync("git", ["-C", ROOT, "ls-tree", "-r", "--name-only", "HEAD"], {
      encoding: "utf8",
    })
      .trim()
      .split("\n")
      .sort();
    expect(shipped).toEqual(tracked);
  });
});
