// Which direction of a bridged call lost audio, and why, in ms of audio: the leg's frames that
// could not go to the agent, and the pipeline's agent audio that could not go to the caller in
// time. What the session's status shows (`bridge.audioLostMs`) and the node's
// rtcgw_bridge_audio_lost_seconds_total counts (metrics.ts), so an overload says which side it hurt.
import type { BridgeAudioLost, BridgeLegStats } from "../../control/contract.js";
import { BRIDGE_FRAME_MS } from "../../media/index.js";

export function bridgeAudioLost(
  leg: Pick<BridgeLegStats, "framesDropped" | "gapFrames" | "framesNotOpen">,
  appOut: { droppedMs: number; lateMs: number } | undefined,
): BridgeAudioLost {
  return {
    toAgent: {
      backpressure: leg.framesDropped * BRIDGE_FRAME_MS,
      socketClosed: (leg.gapFrames + leg.framesNotOpen) * BRIDGE_FRAME_MS,
    },
    toCaller: { queueFull: appOut?.droppedMs ?? 0, late: appOut?.lateMs ?? 0 },
  };
}
