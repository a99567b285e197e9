// The cloud deployment: the signaling functions behind an HTTP API, the registry table, and a media
// node on EC2 with one public UDP port. Routes come from the same table the local emulator serves,
// so local and cloud cannot drift.
import * as path from "node:path";
import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from "aws-cdk-lib";
import * as apigw from "aws-cdk-lib/aws-apigatewayv2";
import { HttpLambdaIntegration } from "aws-cdk-lib/aws-apigatewayv2-integrations";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as logs from "aws-cdk-lib/aws-logs";
import * as s3assets from "aws-cdk-lib/aws-s3-assets";
import * as secrets from "aws-cdk-lib/aws-secretsmanager";
import type { Construct } from "constructs";

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
  mediaNode?: { instanceType?: string; udpPort?: number; controlPort?: number; capacity?: number };
  /** the repository root, shipped to the media node as an S3 asset */
  sourceDir: string;
  /** comma-separated stun:/turn: URLs advertised in Link headers */
  iceServers?: string;
}

export interface TableIndex {
  name: string;
  partitionKey: string;
  sortKey?: string;
}

export class GatewayStack extends Stack {
  constructor(scope: Construct, id: string, props: GatewayStackProps) {
    super(scope, id, props);
    const udpPort = props.mediaNode?.udpPort ?? 40000;
    const controlPort = props.mediaNode?.controlPort ?? 9090;

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

    // Shared HMAC secret between the functions and the media nodes (control API).
    const nodeSecret = new secrets.Secret(this, "NodeSecret", {
      generateSecretString: { passwordLength: 48, excludePunctuation: true },
    });

    // Public subnets only, no NAT: the node needs a public UDP port; the functions reach DynamoDB
    // through a gateway endpoint and the node's control API on its private address.
    const vpc = new ec2.Vpc(this, "Vpc", {
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [{ name: "public", subnetType: ec2.SubnetType.PUBLIC }],
      gatewayEndpoints: { DynamoDB: { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB } },
    });
    const fnSg = new ec2.SecurityGroup(this, "FunctionsSg", { vpc, allowAllOutbound: true });
    const nodeSg = new ec2.SecurityGroup(this, "MediaNodeSg", { vpc, allowAllOutbound: true });
    nodeSg.addIngressRule(
      ec2.Peer.anyIpv4(),
      ec2.Port.udp(udpPort),
      "WebRTC media (ICE/DTLS/SRTP, one muxed port)",
    );
    nodeSg.addIngressRule(fnSg, ec2.Port.tcp(controlPort), "control API from the signaling functions only");

    // Secrets Manager is reached over the internet; functions in public subnets have none, so the
    // secret is resolved at deploy time into the environment (encrypted at rest by Lambda).
    const env: Record<string, string> = {
      RTCGW_REGISTRY: `dynamodb:${table.tableName}`,
      RTCGW_NODE_SECRET: nodeSecret.secretValue.unsafeUnwrap(),
      LOG_LEVEL: "info",
      NODE_OPTIONS: "--enable-source-maps",
    };
    if (props.iceServers) env.RTCGW_ICE_SERVERS = props.iceServers;

    const api = new apigw.HttpApi(this, "Api", {
      apiName: "rtcgw",
      corsPreflight: undefined, // OPTIONS is answered by our own handler (WHIP's Accept-Post)
    });
    const fns = new Map<string, lambda.Function>();
    for (const route of props.routes) {
      let fn = fns.get(route.handler);
      if (!fn) {
        fn = new lambda.Function(this, `Fn-${route.handler}`, {
          runtime: lambda.Runtime.NODEJS_22_X,
          architecture: lambda.Architecture.ARM_64,
          handler: "index.handler",
          code: lambda.Code.fromAsset(path.join(props.functionsDir, route.handler)),
          memorySize: 256,
          timeout: Duration.seconds(10),
          environment: env,
          vpc,
          vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
          allowPublicSubnet: true,
          securityGroups: [fnSg],
          logGroup: new logs.LogGroup(this, `Logs-${route.handler}`, {
            retention: logs.RetentionDays.TWO_WEEKS,
            removalPolicy: RemovalPolicy.DESTROY,
          }),
        });
        table.grantReadWriteData(fn);
        fns.set(route.handler, fn);
      }
      api.addRoutes({
        path: route.path,
        methods: [route.method.toUpperCase() as apigw.HttpMethod],
        integration: new HttpLambdaIntegration(`Int-${route.handler}-${route.method}-${route.path}`, fn),
      });
    }

    // The media node: one instance, Elastic IP announced in ICE candidates (1:1 NAT).
    const role = new iam.Role(this, "MediaNodeRole", {
      assumedBy: new iam.ServicePrincipal("ec2.amazonaws.com"),
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName("AmazonSSMManagedInstanceCore")],
    });
    table.grantReadWriteData(role);
    nodeSecret.grantRead(role);
    const eip = new ec2.CfnEIP(this, "MediaNodeIp");
    // The node runs this repository's code: shipped as a zipped asset, installed with npm ci.
    const source = new s3assets.Asset(this, "MediaNodeSource", {
      path: props.sourceDir,
      exclude: ["node_modules", "dist", ".git", "recordings", "**/cdk.out", ".tmp", "wasm/**/target"],
    });
    source.grantRead(role);
    const userData = ec2.UserData.forLinux();
    const zip = userData.addS3DownloadCommand({ bucket: source.bucket, bucketKey: source.s3ObjectKey });
    userData.addCommands(
      "set -eu",
      "dnf install -y nodejs22 unzip",
      "mkdir -p /opt/rtcgw /var/lib/rtcgw/recordings && cd /opt/rtcgw",
      `unzip -oq ${zip} -d /opt/rtcgw`,
      "npm ci --omit=dev --no-audit --no-fund",
      'TOKEN=$(curl -sX PUT http://169.254.169.254/latest/api/token -H "X-aws-ec2-metadata-token-ttl-seconds: 60")',
      'PRIVATE_IP=$(curl -s -H "X-aws-ec2-metadata-token: $TOKEN" http://169.254.169.254/latest/meta-data/local-ipv4)',
      `SECRET=$(aws secretsmanager get-secret-value --secret-id ${nodeSecret.secretArn} --query SecretString --output text)`,
      "cat > /etc/rtcgw.env <<ENV",
      `RTCGW_REGISTRY=dynamodb:${table.tableName}`,
      "RTCGW_NODE_SECRET=$SECRET",
      `NODE_PORT=${controlPort}`,
      `MEDIA_UDP_PORT=${udpPort}`,
      "MEDIA_BIND_ADDRESS=0.0.0.0",
      `MEDIA_ANNOUNCED_ADDRESS=${eip.attrPublicIp}`,
      `RTCGW_NODE_URL=http://$PRIVATE_IP:${controlPort}`,
      `RTCGW_NODE_CAPACITY=${props.mediaNode?.capacity ?? 300}`,
      "RECORDINGS_DIR=/var/lib/rtcgw/recordings",
      "ENV",
      "cat > /etc/systemd/system/rtcgw-node.service <<UNIT",
      "[Unit]",
      "Description=rtcgw media node",
      "After=network-online.target",
      "[Service]",
      "EnvironmentFile=/etc/rtcgw.env",
      "WorkingDirectory=/opt/rtcgw",
      "ExecStart=/usr/bin/node bin/rtcgw.mjs node",
      "KillSignal=SIGTERM",
      "TimeoutStopSec=60",
      "Restart=always",
      "[Install]",
      "WantedBy=multi-user.target",
      "UNIT",
      "systemctl daemon-reload && systemctl enable --now rtcgw-node",
    );
    const instance = new ec2.Instance(this, "MediaNode", {
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      instanceType: new ec2.InstanceType(props.mediaNode?.instanceType ?? "c7g.large"),
      machineImage: ec2.MachineImage.latestAmazonLinux2023({ cpuType: ec2.AmazonLinuxCpuType.ARM_64 }),
      securityGroup: nodeSg,
      role,
      userData,
    });
    new ec2.CfnEIPAssociation(this, "MediaNodeIpAssoc", {
      allocationId: eip.attrAllocationId,
      instanceId: instance.instanceId,
    });

    new CfnOutput(this, "ApiUrl", { value: api.apiEndpoint });
    new CfnOutput(this, "MediaNodePublicIp", { value: eip.attrPublicIp });
    new CfnOutput(this, "RegistryTable", { value: table.tableName });
  }
}
