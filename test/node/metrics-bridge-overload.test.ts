// rtcgw_bridge_overload_frames_total says which direction of a bridged call lost audio to
// overload: caller-to-agent from the leg's dropped frames (backpressure), agent-to-caller from the
// agent's frames that did not leave in time (PcmPushStats.lateFrames, via the session's status).
// The two sources are tested where they are counted (test/node/bridge.test.ts "backpressure",
// test/media/sources/pcm-push-overload.test.ts); this pins the mapping at a call's end.
import { describe, expect, it } from "vitest";
import type { BridgeLegStats } from "../../src/control/contract.js";
import { NodeMetrics } from "../../src/node/metrics.js";

const leg = (o: Partial<BridgeLegStats>): BridgeLegStats => ({
  state: "closed",
  failed: false,
  protocol: "rtcgw",
  rate: 16000,
  framesSent: 100,
  framesDropped: 0,
  framesNotOpen: 0,
  gapFrames: 0,
  earlyFrames: 0,
  reconnects: 0,
  audioIn: 0,
  audioInBytes: 0,
  clears: 0,
  marks: 0,
  marksAnswered: 0,
  protocolErrors: 0,
  jitterDepthMs: 20,
  ...o,
});

const value = (text: string, direction: string) =>
  Number(
    new RegExp(`rtcgw_bridge_overload_frames_total\\{direction="${direction}"[^}]*\\} (\\d+)`).exec(
      text,
    )?.[1] ?? 0,
  );

describe("rtcgw_bridge_overload_frames_total", () => {
  it("counts each direction's lost frames under its own label, and nothing for a call that lost none", async () => {
    const m = new NodeMetrics("node-test", () => ({}));
    m.bridgeEnded(leg({}));
    let text = await m.text();
    expect(value(text, "caller-to-agent")).toBe(0);
    expect(value(text, "agent-to-caller")).toBe(0);
    m.bridgeEnded(leg({ agentFramesLate: 42 }));
    m.bridgeEnded(leg({ framesDropped: 7 }));
    m.bridgeEnded(leg({ framesDropped: 3, agentFramesLate: 1 }));
    text = await m.text();
    expect(value(text, "caller-to-agent")).toBe(10);
    expect(value(text, "agent-to-caller")).toBe(43);
    m.close();
  });
});
