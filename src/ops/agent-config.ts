// The node agent's settings (`rtcgw agent`, beside `rtcgw node` on each instance), validated like
// the rest of the configuration: one message naming each bad variable, exit 2.
import * as z from "zod/mini";

const name = (v: string) =>
  z.string().check(z.regex(/^[A-Za-z0-9_.:/-]{1,255}$/, `${v} must be a name (A-Z a-z 0-9 _ . : / -)`));

/** a decimal number of seconds (as the main configuration's numbers: no " ", 0x10 or 1e3) */
const seconds = (v: string) =>
  z.pipe(
    z.string().check(z.regex(/^\s*\d+(\.\d+)?\s*$/, `${v} must be seconds`)),
    z.coerce.number({ error: `${v} must be seconds` }),
  );

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
    seconds("RTCGW_AGENT_METRICS_INTERVAL").check(z.minimum(1), z.maximum(3600)),
    60,
  ),
  /** seconds between lifecycle-state polls of the instance metadata */
  RTCGW_AGENT_POLL_INTERVAL: z._default(
    seconds("RTCGW_AGENT_POLL_INTERVAL").check(z.minimum(0.1), z.maximum(60)),
    5,
  ),
  /** seconds this instance may have no live node worker before the agent marks it unhealthy
   *  (SetInstanceHealth: the group replaces it); 0 = never */
  RTCGW_AGENT_UNHEALTHY_AFTER: z._default(
    seconds("RTCGW_AGENT_UNHEALTHY_AFTER").check(z.maximum(86_400)),
    300,
  ),
});

export type AgentConfig = z.infer<typeof AgentConfigSchema>;

export function loadAgentConfig(env: NodeJS.ProcessEnv = process.env): AgentConfig {
  const input: Record<string, string> = {};
  for (const k of Object.keys(AgentConfigSchema.shape)) {
    const v = env[k];
    if (v !== undefined && v.trim() !== "") input[k] = v; // blank = unset
  }
  const r = AgentConfigSchema.safeParse(input);
  if (!r.success)
    throw new Error(
      `invalid configuration:\n${r.error.issues.map((i) => `  - ${String(i.path[0])}: ${i.message}`).join("\n")}`,
    );
  return r.data;
}
