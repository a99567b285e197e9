// The media nodes: an Auto Scaling group over ≥ 2 AZs from a launch template (AMI pinned, IMDSv2
// required), each instance bootstrapped by infra/node/bootstrap.sh with its parameters in the user
// data. Every worker's ports are opened (one worker per vCPU: UDP and control port base + i), the
// capacity is set per worker. The group scales on the sessions per instance its agent publishes;
// a termination lifecycle hook gives each leaving instance (scale-in, rolling update) the time to
// stop taking offers, drain its calls and upload its recordings; the group waits for each new
// instance's cfn-signal, so a node that does not come up healthy fails (and rolls back) the deploy.
import { ArnFormat, CfnParameter, Duration, Lazy, Stack } from "aws-cdk-lib";
import * as autoscaling from "aws-cdk-lib/aws-autoscaling";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as iam from "aws-cdk-lib/aws-iam";
import * as s3assets from "aws-cdk-lib/aws-s3-assets";
import { Construct } from "constructs";
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
  /** the TURN server's (coturn's) UDP and TCP port on each node (default 3478) */
  turnPort?: number;
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
} as const;

export class MediaNodes extends Construct {
  readonly group: autoscaling.AutoScalingGroup;
  readonly securityGroup: ec2.SecurityGroup;
  readonly role: iam.Role;
  readonly workers: number;
  readonly capacityPerWorker: number;
  readonly groupName: string;
  readonly hookName: string;

  constructor(scope: Construct, id: string, props: MediaNodesProps, deps: MediaNodesDeps) {
    super(scope, id);
    const stack = Stack.of(this);
    const instanceType = props.instanceType ?? DEFAULTS.instanceType;
    this.workers = props.vcpus ?? vcpusOf(instanceType);
    this.capacityPerWorker = props.sessionsPerWorker ?? DEFAULTS.sessionsPerWorker;
    const udpPort = props.udpPort ?? DEFAULTS.udpPort;
    const controlPort = props.controlPort ?? DEFAULTS.controlPort;
    const drainSeconds = props.drainSeconds ?? DEFAULTS.drainSeconds;
    const min = props.minInstances ?? DEFAULTS.minInstances;
    // desired is left unset unless given: a set value resets a scaled-out group on every deploy
    const desired = props.desiredInstances;
    const max = props.maxInstances ?? DEFAULTS.maxInstances;
    if (!(min <= (desired ?? min) && (desired ?? min) <= max))
      throw new Error(`media nodes: need min ≤ desired ≤ max (${min}, ${desired}, ${max})`);
    this.groupName = `${stack.stackName}-media`;
    this.hookName = `${stack.stackName}-media-drain`;

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
    const turnPort = props.turnPort ?? DEFAULTS.turnPort;
    sg.addIngressRule(ec2.Peer.anyIpv4(), ec2.Port.udp(turnPort), "TURN over UDP");
    sg.addIngressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(turnPort), "TURN over TCP");
    sg.addIngressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), "TURN over TLS");
    this.securityGroup = sg;

    this.role = new iam.Role(this, "Role", {
      assumedBy: new iam.ServicePrincipal("ec2.amazonaws.com"),
      managedPolicies: [
        iam.ManagedPolicy.fromAwsManagedPolicyName("AmazonSSMManagedInstanceCore"),
        iam.ManagedPolicy.fromAwsManagedPolicyName("CloudWatchAgentServerPolicy"),
      ],
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
      ["--node-version", props.nodeVersion ?? DEFAULTS.nodeVersion],
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
      ["--stack", stack.stackName],
      ["--resource", groupLogicalId],
      ...(deps.turnSecretArn
        ? [
            ["--turn-secret-arn", deps.turnSecretArn],
            ["--turn-port", String(turnPort)],
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
      // updates (a new artifact, AMI or setting = a new launch template version): one instance at
      // a time is replaced, the new one must signal healthy first; the old one leaves through the
      // termination hook below (drain), so no live call is cut before its deadline
      updatePolicy: autoscaling.UpdatePolicy.rollingUpdate({
        maxBatchSize: 1,
        minInstancesInService: min,
        waitOnResourceSignals: true,
        pauseTime: Duration.minutes(15),
        suspendProcesses: [
          autoscaling.ScalingProcess.HEALTH_CHECK,
          autoscaling.ScalingProcess.REPLACE_UNHEALTHY,
          autoscaling.ScalingProcess.AZ_REBALANCE,
          autoscaling.ScalingProcess.ALARM_NOTIFICATION,
          autoscaling.ScalingProcess.SCHEDULED_ACTIONS,
        ],
      }),
    });
    this.group = group;
    groupOf = group;

    // the drain: the agent sees "Terminated" in IMDS, stops the node (drain + uploads), completes
    group.addLifecycleHook("Drain", {
      lifecycleHookName: this.hookName,
      lifecycleTransition: autoscaling.LifecycleTransition.INSTANCE_TERMINATING,
      defaultResult: autoscaling.DefaultResult.CONTINUE,
      heartbeatTimeout: Duration.seconds(drainSeconds + 180),
    });
    this.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ["autoscaling:CompleteLifecycleAction", "autoscaling:RecordLifecycleActionHeartbeat"],
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
