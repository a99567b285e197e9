// Auto Scaling lifecycle actions (Query protocol): the node agent keeps a termination hook open
// while the node drains (RecordLifecycleActionHeartbeat) and completes it once the node is gone;
// and marks its own instance unhealthy when its node is dead (SetInstanceHealth).
import { AwsClient } from "./signed-request.js";

export interface LifecycleAction {
  groupName: string;
  hookName: string;
  instanceId: string;
}

const VERSION = "2011-01-01";

const params = (a: LifecycleAction) => ({
  AutoScalingGroupName: a.groupName,
  LifecycleHookName: a.hookName,
  InstanceId: a.instanceId,
});

export async function recordLifecycleHeartbeat(a: LifecycleAction, client = new AwsClient("autoscaling")) {
  await client.query("RecordLifecycleActionHeartbeat", VERSION, params(a));
}

export async function completeLifecycleAction(
  a: LifecycleAction,
  result: "CONTINUE" | "ABANDON",
  client = new AwsClient("autoscaling"),
) {
  await client.query("CompleteLifecycleAction", VERSION, { ...params(a), LifecycleActionResult: result });
}

/** the instance is replaced by its group (after the group's health-check grace period, when
 *  respectGracePeriod: an instance still starting is left alone) */
export async function setInstanceUnhealthy(
  instanceId: string,
  respectGracePeriod = true,
  client = new AwsClient("autoscaling"),
) {
  await client.query("SetInstanceHealth", VERSION, {
    InstanceId: instanceId,
    HealthStatus: "Unhealthy",
    ShouldRespectGracePeriod: String(respectGracePeriod),
  });
}
