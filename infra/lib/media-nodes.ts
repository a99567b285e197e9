// The media nodes: an Auto Scaling group over ≥ 2 AZs from a launch template (AMI pinned, IMDSv2
// required), each instance bootstrapped by infra/node/bootstrap.sh with its parameters in the user
// data. Every worker's ports are opened (one worker per vCPU: UDP and control port base + i), the
// capacity is set per worker. The group scales on the sessions per instance its agent publishes;
// a termination lifecycle hook gives each leaving instance (scale-in, instance refresh) the time to
// stop taking offers, drain its calls and upload its recordings. A launch lifecycle hook keeps each
// new instance out of service until its bootstrap finds every worker healthy (CONTINUE) or fails
// (ABANDON); the creation waits for each instance's cfn-signal, so a node that does not come up
// healthy fails (and rolls back) the first deploy. Updates: an instance refresh started on each new
// launch template version (instance-refresh.ts), through the same hooks.
import { ArnFormat, CfnParameter, Duration, Lazy, RemovalPolicy, Stack } from "aws-cdk-lib";
import * as autoscaling from "aws-cdk-lib/aws-autoscaling";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as iam from "aws-cdk-lib/aws-iam";
import * as logs from "aws-cdk-lib/aws-logs";
import * as s3assets from "aws-cdk-lib/aws-s3-assets";
import { Construct } from "constructs";
import { InstanceRefresh } from "./instance-refresh.js";
import { vcpusOf } from "./instance-sizes.js";

export interface MediaNodesProps {
  /** c7g.large by default (Graviton, 2 vCPUs) */
  instanceType?: string;
  /** vCPUs of the instance type when instance-sizes.ts cannot tell */
  vcpus?: number;
  /** the AMI (Amazon Linux 2023): pinned here, or a deploy-time parameter kept across deploys */
  amiId?: string;
  /** first worker's UDP media port (worker i: + i) */
  udpPort?: number;
  /** first worker's control port (worker i: + i) */
  controlPort?: number;
  /** sessions one worker (one vCPU) accepts: RTCGW_NODE_CAPACITY */
  sessionsPerWorker?: number;
  /** scale out above this share of an instance's capacity in use (0..1) */
  targetUtilization?: number;
  minInstances?: number;
  desiredInstances?: number;
  maxInstances?: number;
  /** seconds a leaving node lets its calls finish */
  drainSeconds?: number;
  /** pinned Node.js version the bootstrap installs */
  nodeVersion?: string;
  /** where the bootstrap downloads it (a mirror of https://nodejs.org/dist, e.g. for a VPC
   *  without internet access); the release's SHASUMS256.txt is checked either way */
  nodeDistUrl?: string;
  /** coturn beside each node (default on): from the AMI, the repositories or its container image */
  turn?: boolean;
  /** where coturn comes from: "auto" (default) = turnserver on the AMI, else `dnf install coturn`,
   *  else the official container image by Docker; or force "binary", "dnf" or "container" */
  turnRuntime?: TurnRuntime;
  /** the container image, pinned by digest (NAME[:TAG]@sha256:<64 hex>) */
  turnImage?: string;
  /** the TURN server's (coturn's) UDP and TCP port on each node (default 3478) */
  turnPort?: number;
  /** TURN over TLS: a certificate the operator provides (ACM certificates cannot be exported) */
  turnTls?: TurnTlsProps;
}

export const TURN_RUNTIMES = ["auto", "binary", "dnf", "container"] as const;
export type TurnRuntime = (typeof TURN_RUNTIMES)[number];

export interface TurnTlsProps {
  /** a Secrets Manager secret (full ARN) whose SecretString is the PEM certificate chain and key */
  certSecretArn: string;
  /** the name clients dial, which the certificate must match: {ip} / {ip-dashed} = the node's
   *  public IPv4 (e.g. {ip-dashed}.turn.example.com with a wildcard certificate) */
  host: string;
  /** TLS port (default 443) */
  port?: number;
}

export interface MediaNodesDeps {
  vpc: ec2.IVpc;
  functionsSg: ec2.ISecurityGroup;
  tableName: string;
  nodeSecretArn: string;
  turnSecretArn?: string;
  recordingsBucket: string;
  /** the source artifact (tarball of tracked files) */
  artifact: string;
  /** infra/node/bootstrap.sh */
  bootstrap: string;
}

export const METRICS_NAMESPACE = "rtcgw";
/** the log groups /rtcgw/<stack>/<name> of infra/node/bootstrap.sh's CloudWatch agent configuration */
export const NODE_LOG_GROUPS = ["node", "agent", "turn", "prometheus"] as const;
export const DEFAULTS = {
  instanceType: "c7g.large",
  udpPort: 40000,
  controlPort: 9090,
  // docs/benchmarks.md, bench:sessions: 2 workers held 300 record sessions at 0.273 % of a core
  // and 200 echo at 0.624 %; 150 per worker keeps an echo-heavy mix under one core per worker
  sessionsPerWorker: 150,
  targetUtilization: 0.6,
  minInstances: 2,
  maxInstances: 10,
  drainSeconds: 300,
  nodeVersion: "22.12.0",
  turnPort: 3478,
  turnTlsPort: 443,
  turnRuntime: "auto",
  // coturn's official image (Docker Hub coturn/coturn), by digest; the bootstrap's own default
  // (TURN_IMAGE in infra/node/bootstrap.sh) is the same (test/infra/stack.test.ts)
  turnImage: "coturn/coturn:4.7.0@sha256:a00afb5b4890de4df22bbe70379c6b316685dffee297d53cac1271dcb91fab93",
} as const;

export class MediaNodes extends Construct {
  readonly group: autoscaling.AutoScalingGroup;
  readonly securityGroup: ec2.SecurityGroup;
  readonly role: iam.Role;
  readonly workers: number;
  readonly capacityPerWorker: number;
  readonly groupName: string;
  readonly hookName: string;
  readonly launchHookName: string;
  private readonly template: ec2.LaunchTemplate;
  private drainHook?: autoscaling.LifecycleHook;

  constructor(scope: Construct, id: string, props: MediaNodesProps, deps: MediaNodesDeps) {
    super(scope, id);
    const stack = Stack.of(this);
    const instanceType = props.instanceType ?? DEFAULTS.instanceType;
    this.workers = props.vcpus ?? vcpusOf(instanceType);
    this.capacityPerWorker = props.sessionsPerWorker ?? DEFAULTS.sessionsPerWorker;
    const udpPort = props.udpPort ?? DEFAULTS.udpPort;
    const controlPort = props.controlPort ?? DEFAULTS.controlPort;
    const drainSeconds = props.drainSeconds ?? DEFAULTS.drainSeconds;
    const nodeVersion = props.nodeVersion ?? DEFAULTS.nodeVersion;
    if (!/^\d+\.\d+\.\d+$/.test(nodeVersion))
      throw new Error(`media nodes: the Node.js version must be X.Y.Z, got ${nodeVersion}`);
    if (props.nodeDistUrl !== undefined && !/^https?:\/\/[^\s']+$/.test(props.nodeDistUrl))
      throw new Error(`media nodes: the Node.js download URL must be http(s)://…, got ${props.nodeDistUrl}`);
    const min = props.minInstances ?? DEFAULTS.minInstances;
    // desired is left unset unless given: a set value resets a scaled-out group on every deploy
    const desired = props.desiredInstances;
    const max = props.maxInstances ?? DEFAULTS.maxInstances;
    if (!(min <= (desired ?? min) && (desired ?? min) <= max))
      throw new Error(`media nodes: need min ≤ desired ≤ max (${min}, ${desired}, ${max})`);
    this.groupName = `${stack.stackName}-media`;
    this.hookName = `${stack.stackName}-media-drain`;
    this.launchHookName = `${stack.stackName}-media-launch`;

    // ports: every worker's, never fewer
    const sg = new ec2.SecurityGroup(this, "Sg", {
      vpc: deps.vpc,
      allowAllOutbound: true,
      description: "rtcgw media nodes",
    });
    sg.addIngressRule(
      ec2.Peer.anyIpv4(),
      ec2.Port.udpRange(udpPort, udpPort + this.workers - 1),
      `WebRTC media: one muxed UDP port per worker (${this.workers} workers)`,
    );
    sg.addIngressRule(
      deps.functionsSg,
      ec2.Port.tcpRange(controlPort, controlPort + this.workers - 1),
      "control API of every worker, from the signaling functions only",
    );
    // TURN beside the node (coturn): clients whose network blocks UDP
    const turn = props.turn !== false && deps.turnSecretArn !== undefined;
    const turnPort = props.turnPort ?? DEFAULTS.turnPort;
    const tls = turn ? props.turnTls : undefined;
    const tlsPort = tls?.port ?? DEFAULTS.turnTlsPort;
    if (props.turnTls && !turn) throw new Error("media nodes: TURN over TLS needs TURN (turn: true)");
    if (tls && !/^arn:aws[a-z-]*:secretsmanager:/.test(tls.certSecretArn))
      throw new Error(
        `media nodes: the TURN TLS certificate must be a Secrets Manager secret ARN, got ${tls.certSecretArn}`,
      );
    if (tls && !/\{ip(-dashed)?\}|^[A-Za-z0-9.-]+$/.test(tls.host))
      throw new Error(
        `media nodes: the TURN TLS host must be a name (or a template with {ip} / {ip-dashed}), got ${tls.host}`,
      );
    const turnRuntime = props.turnRuntime ?? DEFAULTS.turnRuntime;
    const turnImage = props.turnImage ?? DEFAULTS.turnImage;
    if (!TURN_RUNTIMES.includes(turnRuntime))
      throw new Error(
        `media nodes: the TURN runtime must be one of ${TURN_RUNTIMES.join(", ")}, got ${turnRuntime}`,
      );
    // a tag can be moved to another image; a digest names the one that was reviewed
    if (!/^[a-z0-9][a-z0-9._/:-]*@sha256:[0-9a-f]{64}$/.test(turnImage))
      throw new Error(
        `media nodes: the TURN image must be pinned by digest (NAME[:TAG]@sha256:<64 hex>), got ${turnImage}`,
      );
    if (turn) {
      sg.addIngressRule(ec2.Peer.anyIpv4(), ec2.Port.udp(turnPort), "TURN over UDP");
      sg.addIngressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(turnPort), "TURN over TCP");
    }
    if (tls) sg.addIngressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(tlsPort), "TURN over TLS");
    this.securityGroup = sg;

    this.role = new iam.Role(this, "Role", {
      assumedBy: new iam.ServicePrincipal("ec2.amazonaws.com"),
      // Session Manager for operators; the CloudWatch agent's rights are granted below, scoped to
      // this stack's log groups (AWS's CloudWatchAgentServerPolicy allowed any log group, any
      // metric namespace, X-Ray and SSM parameters: the agent here needs none of those)
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName("AmazonSSMManagedInstanceCore")],
    });

    const artifact = new s3assets.Asset(this, "Source", { path: deps.artifact });
    const bootstrap = new s3assets.Asset(this, "Bootstrap", { path: deps.bootstrap });
    artifact.grantRead(this.role);
    bootstrap.grantRead(this.role);

    // the user data names the group's own logical id for cfn-signal: a Ref would be circular, the
    // logical id is a plain string known once the group exists (rendered lazily at synth)
    let groupOf: autoscaling.AutoScalingGroup | undefined;
    const groupLogicalId = Lazy.string({
      produce: () => stack.getLogicalId(groupOf!.node.defaultChild as autoscaling.CfnAutoScalingGroup),
    });
    // the user data: fetch the bootstrap and run it with its parameters (nothing else happens here)
    const userData = ec2.UserData.forLinux();
    const args = [
      ["--region", stack.region],
      ["--artifact", artifact.s3ObjectUrl],
      ["--node-version", nodeVersion],
      ...(props.nodeDistUrl ? [["--node-dist-url", props.nodeDistUrl]] : []),
      ["--table", deps.tableName],
      ["--secret-arn", deps.nodeSecretArn],
      ["--bucket", deps.recordingsBucket],
      ["--workers", String(this.workers)],
      ["--capacity", String(this.capacityPerWorker)],
      ["--udp-port", String(udpPort)],
      ["--control-port", String(controlPort)],
      ["--drain-timeout", String(drainSeconds)],
      ["--asg-name", this.groupName],
      ["--lifecycle-hook", this.hookName],
      ["--launch-hook", this.launchHookName],
      ["--stack", stack.stackName],
      ["--resource", groupLogicalId],
      ...(turn && deps.turnSecretArn
        ? [
            ["--turn-secret-arn", deps.turnSecretArn],
            ["--turn-port", String(turnPort)],
            ["--turn-runtime", turnRuntime],
            ["--turn-image", turnImage],
          ]
        : []),
      ...(tls
        ? [
            ["--turn-tls-cert-arn", tls.certSecretArn],
            ["--turn-tls-host", tls.host],
            ["--turn-tls-port", String(tlsPort)],
          ]
        : []),
    ];
    userData.addCommands(
      "set -euo pipefail",
      "BOOT=$(mktemp -d)",
      `aws s3 cp ${bootstrap.s3ObjectUrl} "$BOOT/bootstrap.sh" --region ${stack.region} --only-show-errors`,
      `bash "$BOOT/bootstrap.sh" ${args.map(([k, v]) => `${k} '${v}'`).join(" ")}`,
    );

    const amiId =
      props.amiId ??
      new CfnParameter(stack, "MediaNodeAmiId", {
        type: "AWS::EC2::Image::Id",
        description:
          "AMI of the media nodes (Amazon Linux 2023, the instance type's architecture). Pinned: kept across deploys until you pass another (docs/deploy.md).",
      }).valueAsString;
    const image: ec2.IMachineImage = {
      getImage: () => ({ imageId: amiId, osType: ec2.OperatingSystemType.LINUX, userData }),
    };
    const template = new ec2.LaunchTemplate(this, "Template", {
      instanceType: new ec2.InstanceType(instanceType),
      machineImage: image,
      userData,
      role: this.role,
      securityGroup: sg,
      requireImdsv2: true,
      httpPutResponseHopLimit: 1,
      associatePublicIpAddress: true,
    });
    this.template = template;

    const group = new autoscaling.AutoScalingGroup(this, "Group", {
      vpc: deps.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC, onePerAz: true },
      launchTemplate: template,
      autoScalingGroupName: this.groupName,
      minCapacity: min,
      ...(desired !== undefined ? { desiredCapacity: desired } : {}),
      maxCapacity: max,
      healthChecks: autoscaling.HealthChecks.ec2({ gracePeriod: Duration.minutes(5) }),
      defaultInstanceWarmup: Duration.minutes(3),
      // creation: every instance signals healthy within 15 minutes, or the stack fails
      signals: autoscaling.Signals.waitForAll({ timeout: Duration.minutes(15) }),
      // updates (a new artifact, AMI or setting = a new launch template version): no
      // CloudFormation rolling update — an instance refresh (instance-refresh.ts, started by the
      // deploy) replaces the instances, launch before terminate, through the hooks
    });
    this.group = group;
    groupOf = group;
    // the log groups the bootstrap's CloudWatch agent ships to (/rtcgw/<stack>/…): owned here, with
    // a retention, before any instance starts — left to the agent, it creates them to keep forever,
    // and they outlive the stack
    for (const name of NODE_LOG_GROUPS) {
      const lg = new logs.LogGroup(this, `Logs-${name}`, {
        logGroupName: `/rtcgw/${stack.stackName}/${name}`,
        retention: logs.RetentionDays.TWO_WEEKS,
        removalPolicy: RemovalPolicy.DESTROY,
      });
      group.node.addDependency(lg);
      // the agent writes its streams ({instance_id}) into these groups only; it creates a group
      // only when one is missing, which the dependency above rules out
      this.role.addToPolicy(
        new iam.PolicyStatement({
          actions: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
          resources: [lg.logGroupArn],
        }),
      );
    }
    // the agent looks its groups up, and reads the instance's tags for the AutoScalingGroupName
    // dimension of its host metrics (neither action has resource-level permissions)
    this.role.addToPolicy(
      new iam.PolicyStatement({ actions: ["logs:DescribeLogGroups", "ec2:DescribeTags"], resources: ["*"] }),
    );
    // the launch hook, on the group itself so that it holds the very first instances too (a
    // separate hook resource would only exist once the group's creation is over): an instance goes
    // InService only when its bootstrap completes it (CONTINUE, every worker healthy); a failed
    // bootstrap ABANDONs it, and so does silence past the timeout
    (group.node.defaultChild as autoscaling.CfnAutoScalingGroup).lifecycleHookSpecificationList = [
      {
        lifecycleHookName: this.launchHookName,
        lifecycleTransition: "autoscaling:EC2_INSTANCE_LAUNCHING",
        defaultResult: "ABANDON",
        heartbeatTimeout: Duration.minutes(15).toSeconds(),
      },
    ];

    // the drain: the agent sees "Terminated" in IMDS, stops the node (drain + uploads), completes
    const drain = group.addLifecycleHook("Drain", {
      lifecycleHookName: this.hookName,
      lifecycleTransition: autoscaling.LifecycleTransition.INSTANCE_TERMINATING,
      defaultResult: autoscaling.DefaultResult.CONTINUE,
      heartbeatTimeout: Duration.seconds(drainSeconds + 180),
    });
    this.drainHook = drain;
    // the bootstrap completes the launch action, the agent the termination action (both hooks are
    // on this group, the only resource the statement names); the agent marks its own instance
    // unhealthy when its node has had no live worker for RTCGW_AGENT_UNHEALTHY_AFTER (the group's
    // health checks are EC2's: an instance whose node is dead stays InService otherwise).
    // SetInstanceHealth is authorised against the group the instance belongs to: this one only
    this.role.addToPolicy(
      new iam.PolicyStatement({
        actions: [
          "autoscaling:CompleteLifecycleAction",
          "autoscaling:RecordLifecycleActionHeartbeat",
          "autoscaling:SetInstanceHealth",
        ],
        resources: [
          stack.formatArn({
            service: "autoscaling",
            resource: "autoScalingGroup",
            resourceName: `*:autoScalingGroupName/${this.groupName}`,
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        ],
      }),
    );
    // the agent's per-instance figures (PutMetricData has no resource-level permission; the
    // namespace condition limits it)
    this.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ["cloudwatch:PutMetricData"],
        resources: ["*"],
        conditions: {
          StringEquals: { "cloudwatch:namespace": [METRICS_NAMESPACE, "rtcgw/host", "rtcgw/node"] },
        },
      }),
    );

    // scale on sessions per instance: out above, in below the target share of its capacity
    group.scaleToTrackMetric("SessionsPerInstance", {
      metric: this.sessionsMetric(),
      targetValue: Math.max(
        1,
        Math.floor(
          this.workers * this.capacityPerWorker * (props.targetUtilization ?? DEFAULTS.targetUtilization),
        ),
      ),
    });
  }

  /** updates by instance refresh on each new launch template version; `stopOn` alarms stop it */
  refreshOnUpdate(stopOn: cloudwatch.IAlarm[] = []): InstanceRefresh {
    const r = new InstanceRefresh(this, "Refresh", {
      group: this.group,
      groupName: this.groupName,
      template: this.template,
      stopOn,
    });
    // the drain must be in place before any old instance is terminated
    if (this.drainHook) r.resource.node.addDependency(this.drainHook);
    return r;
  }

  sessionsMetric(): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName: "SessionsPerInstance",
      dimensionsMap: { AutoScalingGroupName: this.groupName },
      statistic: "Average",
      period: Duration.minutes(1),
    });
  }

  acceptingMetric(): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName: "AcceptingWorkers",
      dimensionsMap: { AutoScalingGroupName: this.groupName },
      statistic: "Sum",
      period: Duration.minutes(1),
    });
  }
}
