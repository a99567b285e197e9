// The cloud deployment: the signaling functions behind an HTTP API, the registry table, the
// recordings bucket, and the media nodes as an Auto Scaling group (media-nodes.ts). Routes come
// from the same table the local emulator serves, so local and cloud cannot drift.
//
// Network: public subnets in two AZs, no NAT. The media nodes need public UDP ports; the functions
// run in the VPC so that the nodes' control API is reachable from the functions' security group
// and from nothing else. Functions in a VPC without NAT reach DynamoDB and S3 through gateway
// endpoints and Secrets Manager (their secrets, read once per function instance) through an
// interface endpoint.
import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from "aws-cdk-lib";
import * as apigw from "aws-cdk-lib/aws-apigatewayv2";
import { HttpLambdaIntegration } from "aws-cdk-lib/aws-apigatewayv2-integrations";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as logs from "aws-cdk-lib/aws-logs";
import * as s3 from "aws-cdk-lib/aws-s3";
import * as secrets from "aws-cdk-lib/aws-secretsmanager";
import type { Construct } from "constructs";
import type { HandlerName } from "../../src/signaling/routes.js";
import { MediaNodes, type MediaNodesProps } from "./media-nodes.js";
import {
  FUNCTION_SECRETS,
  FUNCTION_TABLE_ACTIONS,
  type FunctionSecret,
  NODE_BUCKET_ACTIONS,
  NODE_TABLE_ACTIONS,
  SECRET_ARN_SETTING,
} from "./permissions.js";

/** the functions that take offers (create, resume, listen), which may fail over between nodes */
const OFFER_HANDLERS: ReadonlySet<HandlerName> = new Set(["whip", "sessions", "whep"]);
/**
 * Their timeout: an offer may try up to 3 nodes while a 5 s control timeout still fits in its 15 s
 * budget (src/signaling/deps.ts, OFFER_BUDGET_MS), then undoes the failed tries and gives a client
 * token back — 15 s plus a cold start's secret reads. A function its own timeout kills answers
 * nothing but the gateway's 500, and leaves that undone. Under the HTTP API's 30 s integration
 * timeout, so the function still answers in time. (test/infra/stack.test.ts ties it to the budget.)
 */
const OFFER_FUNCTION_TIMEOUT_S = 25;

export interface RouteSpec {
  /** HTTP method, or ANY */
  method: string;
  /** API Gateway path, e.g. /v1/sessions/{id} */
  path: string;
  /** the bundle under dist/functions/<handler>/index.mjs */
  handler: string;
}

export interface GatewayStackProps extends StackProps {
  routes: readonly RouteSpec[];
  /** directory holding <handler>/index.mjs bundles (npm run build) */
  functionsDir: string;
  /** DynamoDB key schema of the registry (mirrors src/registry/dynamodb.ts) */
  table: { partitionKey: string; sortKey?: string; ttlAttribute: string; indexes: readonly TableIndex[] };
  mediaNode?: MediaNodesProps;
  /** the media node's code: a tarball of the repository's tracked files (artifact.ts) */
  artifact: string;
  /** infra/node/bootstrap.sh */
  bootstrap: string;
  /** comma-separated stun:/turn: URLs advertised in Link headers */
  iceServers?: string;
  recordings?: {
    /** days a recording is kept in the bucket (default 30) */
    expireDays?: number;
    /** days until it moves to S3 Infrequent Access (default none) */
    infrequentAccessDays?: number;
  };
  /** 5xx share of API requests (percent) that raises the alarm (default 5) */
  serverErrorAlarmPercent?: number;
  /** the API's throttle, every route (API Gateway answers 429 above it; defaults 200 / 400) */
  throttle?: { ratePerSecond?: number; burst?: number };
}

/** the API's default throttle: ~60 call set-ups a second (each a POST, a PATCH, a DELETE and a few
 *  GETs), far above what a node fleet's capacity turns over, far below what would flood the
 *  functions, the table and the nodes' control ports with a client's loop */
export const API_THROTTLE = { ratePerSecond: 200, burst: 400 };

export interface TableIndex {
  name: string;
  partitionKey: string;
  sortKey?: string;
}

export class GatewayStack extends Stack {
  constructor(scope: Construct, id: string, props: GatewayStackProps) {
    super(scope, id, props);

    const table = new dynamodb.Table(this, "Registry", {
      partitionKey: { name: props.table.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: props.table.sortKey
        ? { name: props.table.sortKey, type: dynamodb.AttributeType.STRING }
        : undefined,
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: props.table.ttlAttribute,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    for (const ix of props.table.indexes) {
      table.addGlobalSecondaryIndex({
        indexName: ix.name,
        partitionKey: { name: ix.partitionKey, type: dynamodb.AttributeType.STRING },
        sortKey: ix.sortKey ? { name: ix.sortKey, type: dynamodb.AttributeType.STRING } : undefined,
      });
    }

    // Shared HMAC secret between the functions and the media nodes (control API); the TURN REST
    // API shared secret between the signaling (credentials it hands out) and coturn on each node
    const nodeSecret = new secrets.Secret(this, "NodeSecret", {
      generateSecretString: { passwordLength: 48, excludePunctuation: true },
    });
    const turnSecret = new secrets.Secret(this, "TurnSecret", {
      generateSecretString: { passwordLength: 48, excludePunctuation: true },
    });
    // the API: your backend's bearer token (RTCGW_API_TOKEN), and the secret it signs short-lived
    // client tokens with (RTCGW_TOKEN_SECRET, `rtcgw token`) — both generated here, read by the
    // functions that create sessions at their first invocation, and by your backend
    // (`aws secretsmanager get-secret-value`, docs/deploy.md); never in an environment in plaintext
    const apiToken = new secrets.Secret(this, "ApiToken", {
      description: "rtcgw API token: Authorization: Bearer <this> creates sessions (your backend only)",
      generateSecretString: { passwordLength: 48, excludePunctuation: true },
    });
    const tokenSecret = new secrets.Secret(this, "TokenSecret", {
      description: "rtcgw client-token secret: signs short-lived client tokens (rtcgw token, HS256)",
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
    });
    const fnSecrets: Record<FunctionSecret, secrets.ISecret> = {
      node: nodeSecret,
      apiToken,
      tokenSecret,
      turn: turnSecret,
    };

    const days = props.recordings?.expireDays ?? 30;
    const ia = props.recordings?.infrequentAccessDays;
    const recordings = new s3.Bucket(this, "Recordings", {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [
        {
          id: "recordings",
          expiration: Duration.days(days),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
          ...(ia
            ? {
                transitions: [
                  { storageClass: s3.StorageClass.INFREQUENT_ACCESS, transitionAfter: Duration.days(ia) },
                ],
              }
            : {}),
        },
      ],
    });

    const vpc = new ec2.Vpc(this, "Vpc", {
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [{ name: "public", subnetType: ec2.SubnetType.PUBLIC }],
      gatewayEndpoints: {
        DynamoDB: { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB },
        S3: { service: ec2.GatewayVpcEndpointAwsService.S3 },
      },
    });
    const fnSg = new ec2.SecurityGroup(this, "FunctionsSg", {
      vpc,
      allowAllOutbound: true,
      description: "rtcgw signaling functions - the only source allowed on the node control ports",
    });
    vpc
      .addInterfaceEndpoint("SecretsManager", {
        service: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
        subnets: { subnetType: ec2.SubnetType.PUBLIC },
        privateDnsEnabled: true,
        open: false,
      })
      .connections.allowFrom(fnSg, ec2.Port.tcp(443), "the functions read their secrets");

    const nodes = new MediaNodes(this, "MediaNodes", props.mediaNode ?? {}, {
      vpc,
      functionsSg: fnSg,
      tableName: table.tableName,
      nodeSecretArn: nodeSecret.secretArn,
      turnSecretArn: turnSecret.secretArn,
      recordingsBucket: recordings.bucketName,
      artifact: props.artifact,
      bootstrap: props.bootstrap,
    });
    table.grant(nodes.role, ...NODE_TABLE_ACTIONS);
    // the operator's TURN TLS certificate (cert + key PEM), read by the bootstrap for coturn
    const tlsArn = props.mediaNode?.turnTls?.certSecretArn;
    if (tlsArn && props.mediaNode?.turn !== false)
      (/-[A-Za-z0-9]{6}$/.test(tlsArn)
        ? secrets.Secret.fromSecretCompleteArn(this, "TurnTlsCert", tlsArn)
        : secrets.Secret.fromSecretPartialArn(this, "TurnTlsCert", tlsArn)
      ).grantRead(nodes.role);
    nodeSecret.grantRead(nodes.role);
    turnSecret.grantRead(nodes.role);
    recordings.grantWrite(nodes.role, undefined, [...NODE_BUCKET_ACTIONS]);

    const api = new apigw.HttpApi(this, "Api", {
      apiName: this.stackName,
      corsPreflight: undefined, // OPTIONS is answered by our own handler (WHIP's Accept-Post)
    });
    // a throttle on every route of the default stage (the L2 stage takes none): without one, one
    // client's loop reaches every function, the table and the nodes at the account's 10 000/s
    (api.defaultStage!.node.defaultChild as apigw.CfnStage).defaultRouteSettings = {
      throttlingRateLimit: props.throttle?.ratePerSecond ?? API_THROTTLE.ratePerSecond,
      throttlingBurstLimit: props.throttle?.burst ?? API_THROTTLE.burst,
    };
    const fns = new Map<string, lambda.Function>();
    for (const route of props.routes) {
      let fn = fns.get(route.handler);
      if (!fn) {
        fn = this.signalingFunction(route.handler as HandlerName, props, {
          vpc,
          fnSg,
          table,
          secrets: fnSecrets,
        });
        fns.set(route.handler, fn);
      }
      api.addRoutes({
        path: route.path,
        methods: [route.method.toUpperCase() as apigw.HttpMethod],
        integration: new HttpLambdaIntegration(`Int-${route.handler}-${route.method}-${route.path}`, fn),
      });
    }

    // alarms: nobody can take a call; the API failing
    const noNode = new cloudwatch.Alarm(this, "NoNodeAccepting", {
      alarmDescription: "No media worker is accepting sessions (all draining, full, or not publishing)",
      metric: nodes.acceptingMetric(),
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      threshold: 1,
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    // updates roll through the group by instance refresh (drain on each old instance); nobody
    // accepting calls stops it
    nodes.refreshOnUpdate([noNode]);
    const errors = api.metricServerError({ period: Duration.minutes(5), statistic: "Sum" });
    const count = api.metricCount({ period: Duration.minutes(5), statistic: "Sum" });
    new cloudwatch.Alarm(this, "ApiServerErrorRate", {
      alarmDescription: "More than the set share of API requests answered 5xx",
      metric: new cloudwatch.MathExpression({
        expression: "IF(count > 0, 100 * errors / count, 0)",
        usingMetrics: { errors, count },
        period: Duration.minutes(5),
        label: "5xx %",
      }),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      threshold: props.serverErrorAlarmPercent ?? 5,
      evaluationPeriods: 2,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    new CfnOutput(this, "ApiUrl", { value: api.apiEndpoint });
    new CfnOutput(this, "MediaNodeGroup", { value: nodes.groupName });
    new CfnOutput(this, "RegistryTable", { value: table.tableName });
    new CfnOutput(this, "RecordingsBucket", { value: recordings.bucketName });
    // what your backend reads (docs/deploy.md, "Your backend"): the names, never the values
    new CfnOutput(this, "ApiTokenSecret", {
      value: apiToken.secretArn,
      description: "aws secretsmanager get-secret-value --secret-id <this>: the API token (Bearer)",
    });
    new CfnOutput(this, "TokenSecretSecret", {
      value: tokenSecret.secretArn,
      description:
        "aws secretsmanager get-secret-value --secret-id <this>: RTCGW_TOKEN_SECRET for rtcgw token",
    });
  }

  /** one function per handler bundle, with only what its routes use */
  private signalingFunction(
    handler: HandlerName,
    props: GatewayStackProps,
    d: {
      vpc: ec2.IVpc;
      fnSg: ec2.ISecurityGroup;
      table: dynamodb.Table;
      secrets: Record<FunctionSecret, secrets.ISecret>;
    },
  ): lambda.Function {
    const tableActions = FUNCTION_TABLE_ACTIONS[handler];
    const reads = FUNCTION_SECRETS[handler];
    const env: Record<string, string> = { LOG_LEVEL: "info", NODE_OPTIONS: "--enable-source-maps" };
    if (tableActions.length > 0) env.RTCGW_REGISTRY = `dynamodb:${d.table.tableName}`;
    // the ARNs, never the values: the function reads them from Secrets Manager once per instance
    for (const s of reads) env[SECRET_ARN_SETTING[s]] = d.secrets[s].secretArn;
    if (props.iceServers) env.RTCGW_ICE_SERVERS = props.iceServers;
    // only the functions that call the nodes, the registry or Secrets Manager sit in the VPC
    const inVpc = tableActions.length > 0 || reads.length > 0;
    const fn = new lambda.Function(this, `Fn-${handler}`, {
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      handler: "index.handler",
      code: lambda.Code.fromAsset(`${props.functionsDir}/${handler}`),
      memorySize: 256,
      timeout: Duration.seconds(OFFER_HANDLERS.has(handler) ? OFFER_FUNCTION_TIMEOUT_S : 10),
      environment: env,
      ...(inVpc
        ? {
            vpc: d.vpc,
            vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
            allowPublicSubnet: true,
            securityGroups: [d.fnSg],
          }
        : {}),
      logGroup: new logs.LogGroup(this, `Logs-${handler}`, {
        retention: logs.RetentionDays.TWO_WEEKS,
        removalPolicy: RemovalPolicy.DESTROY,
      }),
    });
    if (tableActions.length > 0) d.table.grant(fn, ...tableActions);
    for (const s of reads) d.secrets[s].grantRead(fn);
    return fn;
  }
}
