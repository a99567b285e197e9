// Updates roll through the media nodes by an EC2 Auto Scaling instance refresh, started by the
// deploy whenever the launch template gets a new version (new artifact, bootstrap, AMI or setting).
// CloudFormation has no instance-refresh property, so a custom resource (CDK's AwsCustomResource:
// AWS's own provider Lambda, one SDK call, no code of ours to run) calls
// autoscaling:StartInstanceRefresh; the launch template's version is a property of the resource,
// so a new version is an update of it, and an update starts a refresh.
//
// The refresh launches before it terminates (MinHealthyPercentage 100, MaxHealthyPercentage 200):
// a new instance counts only once it is InService, which it is only after its bootstrap completed
// the group's launch lifecycle action (CONTINUE, after every worker answered; a failed bootstrap
// ABANDONs, the old instances stay). Each old instance then leaves through the termination
// lifecycle hook — the same drain as a scale-in — so a deploy never cuts a call before its
// deadline. An alarm (no media worker accepting) going off stops the refresh.

import type { CfnResource } from "aws-cdk-lib";
import { ArnFormat, Duration, RemovalPolicy, Stack } from "aws-cdk-lib";
import type * as autoscaling from "aws-cdk-lib/aws-autoscaling";
import type * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import type * as ec2 from "aws-cdk-lib/aws-ec2";
import * as iam from "aws-cdk-lib/aws-iam";
import * as logs from "aws-cdk-lib/aws-logs";
import * as cr from "aws-cdk-lib/custom-resources";
import { Construct } from "constructs";

export interface InstanceRefreshProps {
  group: autoscaling.AutoScalingGroup;
  groupName: string;
  template: ec2.LaunchTemplate;
  /** seconds after InService before a new instance counts as healthy */
  warmupSeconds?: number;
  /** alarms that stop the refresh when they go off */
  stopOn?: cloudwatch.IAlarm[];
}

/** the refresh's preferences (exported for the synth tests and docs/deploy.md) */
export function refreshPreferences(warmupSeconds: number, alarms: string[]) {
  return {
    // launch first, then terminate: capacity never drops below the group's desired size
    MinHealthyPercentage: 100,
    MaxHealthyPercentage: 200,
    InstanceWarmup: warmupSeconds,
    // only instances not on the new launch template version are replaced
    SkipMatching: true,
    // protected or standby instances are waited for, never replaced behind the operator's back
    ScaleInProtectedInstances: "Wait",
    StandbyInstances: "Wait",
    ...(alarms.length > 0 ? { AlarmSpecification: { Alarms: alarms } } : {}),
  };
}

export class InstanceRefresh extends Construct {
  readonly resource: cr.AwsCustomResource;

  constructor(scope: Construct, id: string, props: InstanceRefreshProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const groupArn = stack.formatArn({
      service: "autoscaling",
      resource: "autoScalingGroup",
      resourceName: `*:autoScalingGroupName/${props.groupName}`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const call: cr.AwsSdkCall = {
      service: "AutoScaling",
      action: "startInstanceRefresh",
      parameters: {
        AutoScalingGroupName: props.groupName,
        Strategy: "Rolling",
        Preferences: refreshPreferences(
          props.warmupSeconds ?? 60,
          (props.stopOn ?? []).map((a) => a.alarmName),
        ),
      },
      physicalResourceId: cr.PhysicalResourceId.of(`${props.groupName}-instance-refresh`),
    };
    this.resource = new cr.AwsCustomResource(this, "Start", {
      // on create too: a stack updated to this version may change the template in the same deploy
      // (SkipMatching makes a refresh of a group already on its version end at once)
      onCreate: call,
      onUpdate: call,
      // nothing to undo on delete (a running refresh ends with the group)
      policy: cr.AwsCustomResourcePolicy.fromStatements([
        new iam.PolicyStatement({ actions: ["autoscaling:StartInstanceRefresh"], resources: [groupArn] }),
      ]),
      installLatestAwsSdk: false,
      timeout: Duration.minutes(2),
      // the provider function's log group, the stack's (a retention, deleted with it): left to
      // Lambda, it is created on first write to be kept for ever, and outlives the stack
      logGroup: new logs.LogGroup(this, "ProviderLogs", {
        retention: logs.RetentionDays.TWO_WEEKS,
        removalPolicy: RemovalPolicy.DESTROY,
      }),
    });
    // a new launch template version is a new value of this property: CloudFormation updates the
    // resource, the update starts the refresh (the provider ignores properties it does not know)
    // (AwsCustomResource → its CustomResource → the CfnResource)
    ((this.resource.node.defaultChild as Construct).node.defaultChild as CfnResource).addPropertyOverride(
      "LaunchTemplateVersion",
      props.template.latestVersionNumber,
    );
    // after the group has the new version (and its hooks), never before
    this.resource.node.addDependency(props.group);
  }
}
