// The node agent's settings (`rtcgw agent`, beside `rtcgw node` on each instance), validated like
// the rest of the configuration: one message naming each bad variable, exit 2.
import * as z from "zod/mini";

const name = (v: string) =>
  z.string().check(z.regex(/^[A-Za-z0-9_.:/-]{1,255}$/, `${v} must be a name (A-Z a-z 0-9 _ . : / -)`));

export const AgentConfigSchema = z.object({
  /** the Auto Scaling group this instance belongs to: the metrics' dimension, the lifecycle hook's group */
  RTCGW_ASG_NAME: name("RTCGW_ASG_NAME"),
  /** the termination lifecycle hook the agent completes after the drain */
  RTCGW_LIFECYCLE_HOOK: name("RTCGW_LIFECYCLE_HOOK"),
  RTCGW_METRICS_NAMESPACE: z._default(name("RTCGW_METRICS_NAMESPACE"), "rtcgw"),
  /** how the agent stops the node (it drains on SIGTERM); systemd's stop waits for the drain */
  RTCGW_AGENT_STOP_COMMAND: z._default(z.string().check(z.minLength(1)), "systemctl stop rtcgw-node"),
  /** seconds between metric publications (CloudWatch's standard resolution is 60) */
  RTCGW_AGENT_METRICS_INTERVAL: z._default(
    z.coerce
      .number({ error: "RTCGW_AGENT_METRICS_INTERVAL must be seconds" })
      .check(z.minimum(1), z.maximum(3600)),
    60,
  ),
  /** seconds between lifecycle-state polls of the instance metadata */
  RTCGW_AGENT_POLL_INTERVAL: z._default(
    z.coerce
      .number({ error: "RTCGW_AGENT_POLL_INTERVAL must be seconds" })
      .check(z.minimum(0.1), z.maximum(60)),
    5,
  ),
});

export type AgentConfig = z.infer<typeof AgentConfigSchema>;

export function loadAgentConfig(env: NodeJS.ProcessEnv = process.env): AgentConfig {
  const input: Record<string, string> = {};
  for (const k of Object.keys(AgentConfigSchema.shape)) {
    const v = env[k];
    if (v !== undefined && v !== "") input[k] = v;
  }
  const r = AgentConfigSchema.safeParse(input);
  if (!r.success)
    throw new Error(
      `invalid configuration:\n${r.error.issues.map((i) => `  - ${String(i.path[0])}: ${i.message}`).join("\n")}`,
    );
  return r.data;
}
