// Auto Scaling lifecycle actions (Query protocol): the node agent keeps a termination hook open
// while the node drains (RecordLifecycleActionHeartbeat) and completes it once the node is gone.
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
