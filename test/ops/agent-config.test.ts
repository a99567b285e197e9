// `rtcgw agent`'s settings: the two names it needs, the defaults, blank = unset, and numbers that
// are decimal seconds only (a blank interval used to become 0 and fail its minimum, "0x3c" passed as 60).
import { expect, it } from "vitest";
import { loadAgentConfig } from "../../src/ops/agent-config.js";

const NEEDED = { RTCGW_ASG_NAME: "group-1", RTCGW_LIFECYCLE_HOOK: "drain-hook" };

it("takes the group and hook, with the documented defaults; a blank setting is unset", () => {
  expect(loadAgentConfig({ ...NEEDED, RTCGW_AGENT_POLL_INTERVAL: " ", RTCGW_METRICS_NAMESPACE: "" })).toEqual(
    {
      ...NEEDED,
      RTCGW_METRICS_NAMESPACE: "rtcgw",
      RTCGW_AGENT_STOP_COMMAND: "systemctl stop rtcgw-node",
      RTCGW_AGENT_METRICS_INTERVAL: 60,
      RTCGW_AGENT_POLL_INTERVAL: 5,
      RTCGW_AGENT_UNHEALTHY_AFTER: 300,
    },
  );
  expect(loadAgentConfig({ ...NEEDED, RTCGW_AGENT_POLL_INTERVAL: "0.5" }).RTCGW_AGENT_POLL_INTERVAL).toBe(
    0.5,
  );
});

it("refuses a missing group or hook, and intervals that are not decimal seconds in range", () => {
  expect(() => loadAgentConfig({ RTCGW_LIFECYCLE_HOOK: "h" })).toThrow(/RTCGW_ASG_NAME/);
  for (const bad of ["0x3c", "1e2", "soon", "0", "7200"])
    expect(() => loadAgentConfig({ ...NEEDED, RTCGW_AGENT_METRICS_INTERVAL: bad })).toThrow(
      /RTCGW_AGENT_METRICS_INTERVAL/,
    );
});

it("RTCGW_AGENT_UNHEALTHY_AFTER: seconds up to a day, 0 = never mark the instance unhealthy", () => {
  expect(loadAgentConfig({ ...NEEDED, RTCGW_AGENT_UNHEALTHY_AFTER: "0" }).RTCGW_AGENT_UNHEALTHY_AFTER).toBe(
    0,
  );
  expect(loadAgentConfig({ ...NEEDED, RTCGW_AGENT_UNHEALTHY_AFTER: "120" }).RTCGW_AGENT_UNHEALTHY_AFTER).toBe(
    120,
  );
  for (const bad of ["-1", "5m", "90000"])
    expect(() => loadAgentConfig({ ...NEEDED, RTCGW_AGENT_UNHEALTHY_AFTER: bad })).toThrow(
      /RTCGW_AGENT_UNHEALTHY_AFTER/,
    );
});
